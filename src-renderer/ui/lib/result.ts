import type { Result } from '../../../src-main/ipc/contract.ts';

/** A command's answer, with a rejected promise (a bridge that lost its link) turned into a failure too. */
export async function settle<T>(call: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await call();
  } catch (err) {
    return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
  }
}
