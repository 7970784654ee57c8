import type { Profile } from '../profile.ts';
import { FastCgiUpstream } from './fastcgi.ts';
import { FolderUpstream } from './folder.ts';
import { HttpUpstream } from './http.ts';
import { rootProblem } from './root.ts';
import { TcpUpstream } from './tcp.ts';
import type { Upstream } from './upstream.ts';

/** The upstream a profile names. */
export function createUpstream(profile: Profile): Upstream {
  const u = profile.upstream;
  switch (u.kind) {
    case 'http':
      return new HttpUpstream({
        target: u.target,
        hostHeader: profile.hostHeader,
        timeoutMs: profile.upstreamTimeoutMs,
        insecure: u.insecure,
      });
    case 'fastcgi':
      return new FastCgiUpstream({
        address: u.address,
        root: u.root,
        index: u.index,
        ...(u.remoteRoot ? { remoteRoot: u.remoteRoot } : {}),
        followSymlinks: u.followSymlinks,
        timeoutMs: profile.upstreamTimeoutMs,
      });
    case 'folder':
      return new FolderUpstream({
        root: u.root,
        dotfiles: u.dotfiles,
        listing: u.listing,
        followSymlinks: u.followSymlinks,
      });
    case 'tcp':
      return new TcpUpstream(u.target);
  }
}

/**
 * Why the local service a profile names cannot be served at all (a missing folder or document root),
 * or null; what a tunnel checks at start, for a caller that wants to know before anything else.
 */
export function upstreamProblem(
  u: { kind: 'http' | 'tcp' } | { kind: 'fastcgi' | 'folder'; root: string },
): string | null {
  if (u.kind === 'folder') return rootProblem(u.root, 'the folder')?.message ?? null;
  if (u.kind === 'fastcgi') return rootProblem(u.root, 'the document root')?.message ?? null;
  return null;
}
