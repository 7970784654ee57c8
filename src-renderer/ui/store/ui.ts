// What the person is looking at: the open page, the selected request, filters, notices; and the
// app's settings and facts, which decide language and theme.
import type { StateCreator } from 'zustand/vanilla';
import type { AppInfo, Settings } from '../../../src-main/ipc/contract.ts';
import type { PortholeState } from './index.ts';

/** The page in the main area. */
export type View =
  { kind: 'home' } | { kind: 'tunnel'; tunnelId: string } | { kind: 'new-tunnel' } | { kind: 'settings' };

export type TunnelTab = 'requests' | 'profile';

/** Status classes the request filter offers; `error` is a request Porthole answered or that failed. */
export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error';

export interface RequestFilters {
  text: string;
  /** '' for every method. */
  method: string;
  /** '' for every status. */
  statusClass: StatusClass | '';
}

export const NO_FILTERS: RequestFilters = Object.freeze({ text: '', method: '', statusClass: '' });

/** A message for the person; translated when shown, so that it follows a change of language. */
export interface Notice {
  id: number;
  tone: 'info' | 'error';
  /** i18n key. */
  key: string;
  params?: Record<string, string | number>;
  /** What the engine said, shown as it is (the engine speaks English). */
  detail?: string;
}

/** The WebSocket bridge's link to the inspector server (always `open` in Electron). */
export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface UiSlice {
  view: View;
  tunnelTab: TunnelTab;
  selectedRequestId: string | null;
  /** Requests ticked for a HAR export. */
  checkedRequestIds: readonly string[];
  filters: RequestFilters;
  appInfo: AppInfo | null;
  settings: Settings | null;
  notices: readonly Notice[];
  connection: ConnectionState;
  /** True once the link was open: a later drop is a reconnection, not the first connection. */
  wasConnected: boolean;
  openTunnel(tunnelId: string, tab?: TunnelTab): void;
  showView(view: View): void;
  setTunnelTab(tab: TunnelTab): void;
  selectRequest(id: string | null): void;
  toggleChecked(id: string): void;
  setChecked(ids: readonly string[]): void;
  setFilters(patch: Partial<RequestFilters>): void;
  setAppInfo(info: AppInfo): void;
  setSettings(settings: Settings): void;
  notify(notice: Omit<Notice, 'id'>): number;
  dismiss(id: number): void;
  setConnection(state: ConnectionState): void;
}

let nextNoticeId = 1;
/** Notices kept at once; older ones give way. */
const MAX_NOTICES = 5;

export const createUiSlice: StateCreator<PortholeState, [], [], UiSlice> = (set) => ({
  view: { kind: 'home' },
  tunnelTab: 'requests',
  selectedRequestId: null,
  checkedRequestIds: [],
  filters: NO_FILTERS,
  appInfo: null,
  settings: null,
  notices: [],
  connection: 'open',
  wasConnected: false,

  openTunnel(tunnelId, tab = 'requests') {
    set((s) => {
      const same = s.view.kind === 'tunnel' && s.view.tunnelId === tunnelId;
      return same
        ? { tunnelTab: tab }
        : {
            view: { kind: 'tunnel', tunnelId },
            tunnelTab: tab,
            selectedRequestId: null,
            checkedRequestIds: [],
          };
    });
  },
  showView(view) {
    set({ view, selectedRequestId: null, checkedRequestIds: [] });
  },
  setTunnelTab(tab) {
    set({ tunnelTab: tab });
  },
  selectRequest(id) {
    set({ selectedRequestId: id });
  },
  toggleChecked(id) {
    set((s) => ({
      checkedRequestIds: s.checkedRequestIds.includes(id)
        ? s.checkedRequestIds.filter((x) => x !== id)
        : [...s.checkedRequestIds, id],
    }));
  },
  setChecked(ids) {
    set({ checkedRequestIds: ids });
  },
  setFilters(patch) {
    set((s) => ({ filters: { ...s.filters, ...patch } }));
  },
  setAppInfo(info) {
    set({ appInfo: info });
  },
  setSettings(settings) {
    set({ settings });
  },
  notify(notice) {
    const id = nextNoticeId++;
    set((s) => ({ notices: [...s.notices, { ...notice, id }].slice(-MAX_NOTICES) }));
    return id;
  },
  dismiss(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  },
  setConnection(connection) {
    set((s) => ({ connection, wasConnected: s.wasConnected || connection === 'open' }));
  },
});
