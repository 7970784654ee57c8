import { readFile, writeFile } from 'node:fs/promises';
import { exportProfiles, parseImport, ProfileProblem } from '../service/profile-io.ts';
import type { Profile } from '../engine/profile.ts';
import { derivedPublicUrl } from '../engine/transports/fpw.ts';
import type { Command } from './args.ts';
import { HostLeases } from './leases.ts';
import { CliFailure, EXIT } from './output.ts';
import { configDir, configStore } from './tunnel-command.ts';

/** `porthole list`, `import` and `export`: the saved profiles of the headless store. */
export async function runProfiles(cmd: Extract<Command, { name: 'list' | 'import' | 'export' }>): Promise<number> {
  switch (cmd.name) {
    case 'list':
      return list(cmd.json);
    case 'import':
      return importFile(cmd.file);
    case 'export':
      return exportFile(cmd.names, cmd.secrets, cmd.out);
  }
}

/** The local service of a profile, in a few words. */
function targetOf(p: Profile): string {
  const u = p.upstream;
  switch (u.kind) {
    case 'http':
      return u.target;
    case 'fastcgi':
      return `fastcgi://${u.address} (root ${u.root})`;
    case 'folder':
      return `folder:${u.root}`;
    case 'tcp':
      return `tcp:${u.target}`;
  }
}

async function list(json: boolean): Promise<number> {
  const profiles = await configStore().list();
  const leases = new HostLeases(configDir());
  const rows = profiles.map((p) => {
    const pid = leases.holder(p.relay.url, p.relay.host);
    return {
      id: p.id,
      name: p.name,
      publicUrl: derivedPublicUrl(p.relay.url, p.relay.host),
      target: targetOf(p),
      running: pid !== null,
      pid,
    };
  });
  if (json) {
    process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return EXIT.ok;
  }
  if (!rows.length) {
    process.stdout.write(
      'No saved profiles. Create them in the inspector (--inspect) or bring them with porthole import.\n',
    );
    return EXIT.ok;
  }
  const width = (pick: (r: (typeof rows)[number]) => string): number => Math.max(...rows.map((r) => pick(r).length));
  const nameW = width((r) => r.name);
  const urlW = width((r) => r.publicUrl);
  const targetW = width((r) => r.target);
  for (const r of rows) {
    const status = r.pid !== null ? `running (pid ${r.pid})` : 'stopped';
    process.stdout.write(
      `${r.name.padEnd(nameW)}  ${r.publicUrl.padEnd(urlW)}  -> ${r.target.padEnd(targetW)}  ${status}\n`,
    );
  }
  return EXIT.ok;
}

async function importFile(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const store = configStore();
  const taken = new Set((await store.list()).map((p) => p.id));
  let result;
  try {
    result = parseImport(text, taken);
  } catch (err) {
    if (err instanceof ProfileProblem) throw new CliFailure(`${file}: ${err.message}`);
    throw err;
  }
  for (const p of result.profiles) await store.save(p);
  const n = result.profiles.length;
  process.stdout.write(
    `Imported ${n} profile${n === 1 ? '' : 's'}${n ? `: ${result.profiles.map((p) => p.name).join(', ')}` : ''}\n`,
  );
  for (const s of result.skipped) {
    process.stderr.write(`Skipped entry ${s.index + 1}${s.name ? ` (${s.name})` : ''}: ${s.reason}\n`);
  }
  if (result.secretsGenerated) {
    process.stderr.write(
      `${result.secretsGenerated} came without their secrets and got new ones (a new token, random passwords): ` +
        'set the passwords again in the inspector before you share them.\n',
    );
  }
  return n || !result.skipped.length ? EXIT.ok : EXIT.failure;
}

async function exportFile(names: string[], secrets: boolean, out: string | undefined): Promise<number> {
  const all = await configStore().list();
  const chosen = names.length ? all.filter((p) => names.includes(p.name) || names.includes(p.id)) : all;
  const missing = names.filter((n) => !all.some((p) => p.name === n || p.id === n));
  if (missing.length) throw new CliFailure(`no saved profile is named ${missing.map((n) => `"${n}"`).join(', ')}`);
  const file = exportProfiles(chosen, secrets);
  if (out) {
    // Secrets in clear are for this user only.
    await writeFile(out, file.text, { mode: 0o600 });
    process.stderr.write(
      `Wrote ${chosen.length} profile${chosen.length === 1 ? '' : 's'} to ${out}${secrets ? ' (with tokens and passwords in clear)' : ' (without tokens and passwords)'}\n`,
    );
  } else {
    process.stdout.write(file.text);
  }
  return EXIT.ok;
}
