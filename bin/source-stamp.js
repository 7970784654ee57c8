// A fingerprint of the CLI's sources: every file under src-main and package.json, by path, size and
// modification time. The build writes it next to the built CLI (out/main/cli.stamp) from the sources
// as they were when it started; bin/porthole.js runs the build only while the sources still match it.
// Equality, not "newer than": sources copied in with their old times (rsync -a, cp -p, a tarball) or a
// build made under a clock that runs ahead still count as changed, and a build that stopped half way
// has no stamp.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} root the checkout's directory @returns {string} */
export function sourceStamp(root) {
  const hash = createHash('sha1');
  const add = (path, name) => {
    const s = statSync(path);
    hash.update(`${name}\t${s.size}\t${s.mtimeMs}\n`);
  };
  const walk = (dir, rel) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      const name = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path, name);
      else add(path, name);
    }
  };
  walk(join(root, 'src-main'), 'src-main');
  add(join(root, 'package.json'), 'package.json');
  return hash.digest('hex');
}
