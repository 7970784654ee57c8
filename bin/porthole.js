#!/usr/bin/env node
// The `porthole` command. The engine is TypeScript run by Node's own type stripping (Node 22.19+).
import { main } from '../src-main/cli/main.ts';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Let stdout drain; do not wait on keep-alive sockets or timers of a stopped engine.
setTimeout(() => process.exit(code), 1000).unref();
