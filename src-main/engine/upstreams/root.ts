import { promises as fs, statSync, type Stats } from 'node:fs';

/** Why a folder to serve from cannot be used. */
export interface RootProblem {
  /** In words for its owner; names the path. */
  message: string;
  /** True when there is no folder there (rather than one that cannot be opened). */
  missing: boolean;
}

/**
 * Why a folder to serve from cannot be used, or null when it is a folder. `what` names it in the
 * message: `the folder`, `the document root`.
 */
export function rootProblem(root: string, what: string): RootProblem | null {
  let stats: Stats;
  try {
    stats = statSync(root);
  } catch (err) {
    return statFailure(root, what, err);
  }
  return stats.isDirectory() ? null : { message: `${what} ${root} is not a folder`, missing: true };
}

/** {@link rootProblem} without blocking: asked again for requests, as the folder may go at any time. */
export async function rootProblemNow(root: string, what: string): Promise<RootProblem | null> {
  let stats: Stats;
  try {
    stats = await fs.stat(root);
  } catch (err) {
    return statFailure(root, what, err);
  }
  return stats.isDirectory() ? null : { message: `${what} ${root} is not a folder`, missing: true };
}

function statFailure(root: string, what: string, err: unknown): RootProblem {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return { message: `${what} ${root} does not exist`, missing: true };
  if (e.code === 'ENOTDIR') {
    return { message: `${what} ${root} does not exist (a part of its path is a file)`, missing: true };
  }
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return { message: `${what} ${root} cannot be opened (permission denied)`, missing: false };
  }
  return { message: `${what} ${root} cannot be read (${e.code ?? e.message})`, missing: false };
}

/** What the request log says of a link refused for leading out, naming the option that would serve it. */
export function linkOutMessage(shown: string, real: string, root: 'the folder' | 'the document root'): string {
  return (
    `refused ${shown}: a symbolic link leads it outside ${root}, to ${real}; ` +
    `turn on "follow symlinks" (--follow-symlinks) to serve such files`
  );
}
