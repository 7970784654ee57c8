// The root of Porthole's UI: the tunnel list on the left, the open page on the right. It talks to the
// engine only through the Bridge it is given (window.api in Electron, the WebSocket bridge in a
// browser) and never knows which one it has.
import type { i18n as I18n } from 'i18next';
import { useEffect, useState } from 'react';
import { I18nextProvider, useTranslation } from 'react-i18next';
import type { Bridge } from '../../src-main/ipc/contract.ts';
import { Notices } from './components/Notices.tsx';
import { BridgeContext } from './context.ts';
import { ProfileEditor } from './features/profiles/ProfileEditor.tsx';
import { SettingsPage } from './features/settings/SettingsPage.tsx';
import { EmptyState } from './features/tunnels/EmptyState.tsx';
import { TunnelList } from './features/tunnels/TunnelList.tsx';
import { TunnelPage } from './features/tunnels/TunnelPage.tsx';
import { useBridgeEvents } from './hooks/useBridgeEvents.ts';
import { useLiveCounters } from './hooks/useLiveCounters.ts';
import { createI18n, systemLanguage } from './i18n/index.ts';
import {
  StoreContext,
  createPortholeStore,
  usePorthole,
  usePortholeStore,
  type ConnectionState,
} from './store/index.ts';

/** One empty list, so that the selector's answer stays the same between renders. */
const NONE_UNREADABLE: readonly never[] = [];
import './porthole.css';

/** The state of the link to the engine, where there is one that can drop (the WebSocket bridge). */
export interface ConnectionMonitor {
  readonly state: ConnectionState;
  subscribe(listener: (state: ConnectionState) => void): () => void;
}

export interface PortholeUIProps {
  bridge: Bridge;
  /** The WebSocket bridge's link state, for a banner while it is down. */
  connection?: ConnectionMonitor | undefined;
  /** How often running tunnels' counters are read again, ms. @default 1000 */
  refreshMs?: number | undefined;
}

export function PortholeUI({ bridge, connection, refreshMs }: PortholeUIProps) {
  const [store] = useState(createPortholeStore);
  const [i18n] = useState(() => createI18n(systemLanguage()));
  return (
    <I18nextProvider i18n={i18n}>
      <BridgeContext value={bridge}>
        <StoreContext value={store}>
          <Shell i18n={i18n} connection={connection} refreshMs={refreshMs ?? 1000} />
        </StoreContext>
      </BridgeContext>
    </I18nextProvider>
  );
}

function useConnection(connection: ConnectionMonitor | undefined): void {
  const store = usePortholeStore();
  useEffect(() => {
    if (!connection) return undefined;
    store.getState().setConnection(connection.state);
    return connection.subscribe((state) => store.getState().setConnection(state));
  }, [connection, store]);
}

function useLanguage(i18n: I18n): void {
  const language = usePorthole((s) => s.settings?.language);
  useEffect(() => {
    if (language && i18n.language !== language) void i18n.changeLanguage(language);
  }, [i18n, language]);
}

function MainArea() {
  const { t } = useTranslation();
  const store = usePortholeStore();
  const view = usePorthole((s) => s.view);
  const loaded = usePorthole((s) => s.tunnelsLoaded);
  const firstId = usePorthole((s) => s.tunnelIds[0]);
  const tunnel = usePorthole((s) => (s.view.kind === 'tunnel' ? s.tunnels[s.view.tunnelId] : undefined));
  const knownProfile = usePorthole((s) => s.view.kind === 'tunnel' && s.view.tunnelId in s.profiles);

  // Home is the first tunnel when there is one; a deleted tunnel's page falls back to it too.
  const lost = view.kind === 'tunnel' && !tunnel && loaded && !knownProfile;
  useEffect(() => {
    if ((view.kind === 'home' || lost) && firstId) store.getState().openTunnel(firstId);
    else if (lost) store.getState().showView({ kind: 'home' });
  }, [view.kind, lost, firstId, store]);

  switch (view.kind) {
    case 'settings':
      return <SettingsPage />;
    case 'new-tunnel':
      return <ProfileEditor onCancel={() => store.getState().showView({ kind: 'home' })} />;
    case 'tunnel':
      return tunnel ? <TunnelPage tunnel={tunnel} /> : <p className="ph-muted">{t('app.loading')}</p>;
    case 'home':
      return loaded && !firstId ? <EmptyState /> : <p className="ph-muted">{t('app.loading')}</p>;
  }
}

function Shell({
  i18n,
  connection,
  refreshMs,
}: {
  i18n: I18n;
  connection: ConnectionMonitor | undefined;
  refreshMs: number;
}) {
  const { t } = useTranslation();
  const store = usePortholeStore();
  useBridgeEvents();
  useLiveCounters(refreshMs);
  useConnection(connection);
  useLanguage(i18n);
  const theme = usePorthole((s) => s.settings?.theme ?? 'system');
  const link = usePorthole((s) => s.connection);
  const wasConnected = usePorthole((s) => s.wasConnected);
  const inSettings = usePorthole((s) => s.view.kind === 'settings');
  const clearSecrets = usePorthole((s) => s.appInfo?.shell === 'electron' && !s.appInfo.secrets.encrypted);
  const [secretsDismissed, setSecretsDismissed] = useState(false);
  const unreadable = usePorthole((s) => s.appInfo?.unreadableProfiles ?? NONE_UNREADABLE);
  const [unreadableDismissed, setUnreadableDismissed] = useState(false);

  return (
    <div className="ph-app" data-theme={theme} lang={i18n.language}>
      <aside className="ph-sidebar">
        <div className="ph-brand">{t('app.name')}</div>
        <TunnelList />
        <div className="ph-sidebar-foot">
          <button
            type="button"
            className="ph-button ph-button-quiet"
            aria-current={inSettings ? 'page' : undefined}
            onClick={() => store.getState().showView({ kind: 'settings' })}
          >
            {t('settings.title')}
          </button>
        </div>
      </aside>
      <main className="ph-main">
        {link !== 'open' ? (
          <p className="ph-banner ph-banner-warn" role="alert">
            {t(link === 'closed' ? 'app.disconnected' : wasConnected ? 'app.reconnecting' : 'app.connecting')}
          </p>
        ) : null}
        {clearSecrets && !secretsDismissed ? (
          <p className="ph-banner ph-banner-warn" role="note">
            {t('app.clearSecrets')}{' '}
            <button type="button" className="ph-link-button" onClick={() => setSecretsDismissed(true)}>
              {t('app.dismiss')}
            </button>
          </p>
        ) : null}
        {unreadable.length > 0 && !unreadableDismissed ? (
          <div
            className="ph-banner ph-banner-warn"
            role="note"
            aria-label={t('app.unreadableProfiles', { count: unreadable.length })}
          >
            <p>
              {t('app.unreadableProfiles', { count: unreadable.length })} {t('app.unreadableKept')}{' '}
              <button type="button" className="ph-link-button" onClick={() => setUnreadableDismissed(true)}>
                {t('app.dismiss')}
              </button>
            </p>
            <ul>
              {unreadable.map((u, i) => (
                <li key={u.id ?? `#${i}`}>
                  {u.name ?? t('app.noName')}: {u.reason}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <MainArea />
      </main>
      <Notices />
    </div>
  );
}
