#!/usr/bin/env node
// Run before `npm install`, `npm start`, `npm run demo` and `npm test`: on a Node that is too old it
// prints one line of its own and exits 1 (npm's own lines may follow).
import { nodeTooOld } from '../bin/node-version.js';

const line = nodeTooOld();
if (line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}
