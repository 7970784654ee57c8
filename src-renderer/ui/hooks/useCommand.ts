// Runs a bridge command from an event handler: the value on success; on failure a notice saying what
// did not work (translated) and why (the engine's words), and null.
import { useCallback } from 'react';
import type { Result } from '../../../src-main/ipc/contract.ts';
import { settle } from '../lib/result.ts';
import { usePortholeStore } from '../store/index.ts';

export type RunCommand = <T>(
  call: () => Promise<Result<T>>,
  failureKey: string,
  params?: Record<string, string | number>,
) => Promise<T | null>;

export function useCommand(): RunCommand {
  const store = usePortholeStore();
  return useCallback<RunCommand>(
    async (call, failureKey, params) => {
      const r = await settle(call);
      if (r.ok) return r.value;
      store
        .getState()
        .notify({ tone: 'error', key: failureKey, ...(params ? { params } : {}), detail: r.error.message });
      return null;
    },
    [store],
  );
}

/** Posts an informational notice ("Copied"). */
export function useInform(): (key: string, params?: Record<string, string | number>) => void {
  const store = usePortholeStore();
  return useCallback(
    (key, params) => {
      store.getState().notify({ tone: 'info', key, ...(params ? { params } : {}) });
    },
    [store],
  );
}
