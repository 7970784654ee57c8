// One zustand store made of slices (tunnels, requests, ui), one per mounted UI (so that tests and a
// second window never share state), read through selectors.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createRequestsSlice, type RequestsSlice } from './requests.ts';
import { createTunnelsSlice, type TunnelsSlice } from './tunnels.ts';
import { createUiSlice, type UiSlice } from './ui.ts';

export type PortholeState = TunnelsSlice & RequestsSlice & UiSlice;
export type PortholeStore = StoreApi<PortholeState>;

export function createPortholeStore(): PortholeStore {
  return createStore<PortholeState>()((...a) => ({
    ...createTunnelsSlice(...a),
    ...createRequestsSlice(...a),
    ...createUiSlice(...a),
  }));
}

export const StoreContext = createContext<PortholeStore | null>(null);

/** The store itself, for actions in event handlers (`store.getState().openTunnel(id)`). */
export function usePortholeStore(): PortholeStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('usePortholeStore: no StoreContext (mount PortholeUI)');
  return store;
}

/** A value from the store; the component re-renders when it changes (by identity). */
export function usePorthole<T>(selector: (state: PortholeState) => T): T {
  return useStore(usePortholeStore(), selector);
}

/** An object or array of values from the store, compared shallowly. */
export function usePortholeShallow<T>(selector: (state: PortholeState) => T): T {
  return useStore(usePortholeStore(), useShallow(selector));
}

export { MAX_REQUESTS_PER_TUNNEL, NO_REQUESTS, mergeRequests, type TunnelRequests } from './requests.ts';
export type { ConnectionState, Notice, RequestFilters, StatusClass, TunnelTab, View } from './ui.ts';
