import { z } from 'zod';
import { COMMAND_CHANNELS, SHELL_CHANNELS } from './channels.ts';
import {
  commandSchemas,
  fail,
  shellSchemas,
  type CommandHandlers,
  type Result,
  type ShellHandlers,
} from './contract.ts';

type AnyHandler = (payload: unknown) => Promise<Result<unknown>>;

/** Calls one command of the contract, by channel, with a payload from outside. */
export type CheckedCall = (channel: string, payload: unknown) => Promise<Result<unknown>>;

/**
 * The one check-and-call of the contract, for every binding (the app's IPC, the inspector's
 * WebSocket): an unknown channel is `not-found`, a payload that fails its schema is
 * `invalid-payload` (with what is wrong), and a handler that throws is `internal`. No handler ever
 * sees an unchecked payload.
 */
export function checkedCaller(
  handlers: CommandHandlers & Partial<ShellHandlers>,
  log: (line: string) => void = () => undefined,
): CheckedCall {
  const schemas: Record<string, z.ZodType> = { ...commandSchemas, ...shellSchemas };
  const known = new Set<string>([...COMMAND_CHANNELS, ...SHELL_CHANNELS]);
  return async (channel, payload) => {
    const handler = (handlers as Record<string, AnyHandler | undefined>)[channel];
    if (!known.has(channel) || !handler) return fail('not-found', `no command "${channel}"`);
    const parsed = schemas[channel]!.safeParse(payload);
    if (!parsed.success) return fail('invalid-payload', `${channel}: ${z.prettifyError(parsed.error)}`);
    try {
      return await handler(parsed.data);
    } catch (err) {
      log(`${channel} threw: ${(err as Error).stack ?? String(err)}`);
      return fail('internal', (err as Error).message ?? String(err));
    }
  };
}
