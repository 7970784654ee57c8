// The Node.js this project needs, checked before anything that would fail on an older one (type
// stripping, undici, jsdom): one line that says what was found, what is needed and how to get it.
// Plain JavaScript that any Node since 12 can run: it is what runs on the old one.

export const NEEDED = [22, 19];

/** The one line to print when `version` (process.versions.node) is too old, or null when it is new enough. */
export function nodeTooOld(version = process.versions.node, execPath = process.execPath) {
  const [major, minor] = version.split('.').map(Number);
  if (major > NEEDED[0] || (major === NEEDED[0] && minor >= NEEDED[1])) return null;
  return (
    `Porthole needs Node.js ${NEEDED.join('.')} or newer, and this is Node.js ${version} (${execPath}): ` +
    'get Node 24 with "npm install --prefix ~/.local/node24 node@24" and put ~/.local/node24/node_modules/.bin ' +
    'first on your PATH (or use nvm, "nvm install 24", or https://nodejs.org/).'
  );
}
