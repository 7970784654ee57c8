import { COMMAND_HELP, USAGE, UsageError, parseCommand, type Command } from './args.ts';
import { CliFailure, EXIT, packageVersion } from './output.ts';

/** Runs the command line; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // A usage error shows the usage of the command it is about, or the whole when there is none.
  const name = argv[0] ?? '';
  const usage = Object.hasOwn(COMMAND_HELP, name) ? COMMAND_HELP[name as keyof typeof COMMAND_HELP] : USAGE;
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`porthole: ${err.message}\n\n${usage}`);
      return EXIT.usage;
    }
    throw err;
  }
  try {
    switch (cmd.name) {
      case 'help':
        process.stdout.write(cmd.topic ? COMMAND_HELP[cmd.topic] : USAGE);
        return EXIT.ok;
      case 'version':
        process.stdout.write(`porthole ${packageVersion()}\n`);
        return EXIT.ok;
      case 'http':
      case 'fastcgi':
      case 'folder':
      case 'tcp':
        return await (await import('./tunnel-command.ts')).runHttp(cmd);
      case 'demo':
        return await (await import('./tunnel-command.ts')).runDemo(cmd);
      case 'start':
        return await (await import('./tunnel-command.ts')).runStart(cmd);
      case 'list':
      case 'import':
      case 'export':
        return await (await import('./profiles-command.ts')).runProfiles(cmd);
      case 'relay':
        // Each command loads only what it needs: the relay alone stays small in memory.
        return await (await import('./relay-command.ts')).runRelay(cmd);
    }
  } catch (err) {
    if (err instanceof CliFailure) {
      process.stderr.write(`porthole: ${err.message}\n`);
      if (err.code === EXIT.usage) process.stderr.write(`\n${usage}`);
      return err.code;
    }
    process.stderr.write(`porthole: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failure;
  }
}
