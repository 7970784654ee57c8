// Property tests of the command contract: whatever a page sends (any channel name, any payload, keys
// like __proto__), the checked call answers with a result and never throws, and a handler only ever
// sees a payload its schema accepted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkedCaller } from '../../src-main/ipc/call.ts';
import {
  COMMAND_CHANNELS,
  SHELL_CHANNELS,
  commandSchemas,
  ok,
  shellSchemas,
  type CommandHandlers,
} from '../../src-main/ipc/contract.ts';

const CHANNELS = [...COMMAND_CHANNELS, ...SHELL_CHANNELS] as string[];
const SCHEMAS: Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }> = {
  ...commandSchemas,
  ...shellSchemas,
};

/** Handlers for every channel that only record what they were given. */
function recorder() {
  const seen: Array<{ channel: string; payload: unknown }> = [];
  const handlers = Object.fromEntries(
    CHANNELS.map((channel) => [
      channel,
      async (payload: unknown) => {
        seen.push({ channel, payload });
        return ok(null);
      },
    ]),
  ) as unknown as CommandHandlers;
  return { seen, call: checkedCaller(handlers) };
}

const KEYS = [
  'id',
  'tunnelId',
  'profile',
  'text',
  'path',
  'ids',
  'includeSecrets',
  'edit',
  'preset',
  'target',
  'name',
  '__proto__',
  'constructor',
];
/** Payloads near the real shapes (known keys, any values) as well as anything at all. */
const id = fc.string({ minLength: 0, maxLength: 70 });
const nearShapes = fc.oneof(
  fc.constant(undefined),
  fc.record({ id }),
  fc.record({ tunnelId: id }),
  fc.record({ tunnelId: id, id }),
  fc.record({ text: fc.string() }),
  fc.record({ id, path: fc.constantFrom('relay.token', 'access.basicAuth.0.password', 'relay.url', '__proto__') }),
  fc.record({ ids: fc.array(id, { maxLength: 3 }), includeSecrets: fc.boolean() }, { requiredKeys: [] }),
  fc.record(
    { preset: fc.constantFrom('public-fpw', 'local-demo', 'other'), target: fc.string() },
    { requiredKeys: ['preset'] },
  ),
);
const payloads = fc.oneof(
  nearShapes,
  fc.anything(),
  fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.anything())),
  fc.json().map((text) => JSON.parse(text) as unknown),
  fc
    .constantFrom('{"__proto__":{"polluted":1}}', '{"id":"a","constructor":{"prototype":{"polluted":1}}}')
    .map((text) => JSON.parse(text) as unknown),
);

describe('the checked call of the contract', () => {
  it('answers any payload on any channel with a result, and hands on only what its schema accepts', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CHANNELS), payloads, async (channel, payload) => {
        const { seen, call } = recorder();
        const result = await call(channel, payload);
        const parsed = SCHEMAS[channel]!.safeParse(payload);
        if (parsed.success) {
          accepted += 1;
          expect(result).toEqual({ ok: true, value: null });
          expect(seen).toEqual([{ channel, payload: parsed.data }]);
        } else {
          refused += 1;
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.error.code).toBe('invalid-payload');
            expect(result.error.message.startsWith(`${channel}: `)).toBe(true);
          }
          expect(seen).toEqual([]);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 2000, seed: 13 },
    );
    // Both ways were taken: payloads that pass (the channels that take none, or a bare id) and not.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(500);
  });

  it('answers a channel that is not in the contract with not-found, and calls nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'))
          .filter((c) => !CHANNELS.includes(c)),
        fc.anything(),
        async (channel, payload) => {
          const { seen, call } = recorder();
          const result = await call(channel, payload);
          expect(result).toMatchObject({ ok: false, error: { code: 'not-found' } });
          expect(seen).toEqual([]);
        },
      ),
      { numRuns: 500, seed: 14 },
    );
  });
});
