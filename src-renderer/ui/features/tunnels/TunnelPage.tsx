// One tunnel: its status (with the last error and the next retry while reconnecting), public URL with
// Copy, Open and a QR code, upstream, live counters, and the Requests and Profile tabs. While a request
// is open the overview folds to the counters on one line (the public URL moves to the tabs' line), so
// that the request gets the height; a button unfolds (or folds) it at any time.
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { TunnelView } from '../../../../src-main/ipc/contract.ts';
import { QrCode } from '../../components/QrCode.tsx';
import { StatusDot } from '../../components/StatusDot.tsx';
import { Switch } from '../../components/Switch.tsx';
import { Tabs } from '../../components/Tabs.tsx';
import { useBridge } from '../../context.ts';
import { useCommand, useInform } from '../../hooks/useCommand.ts';
import { useNow } from '../../hooks/useNow.ts';
import { formatBytes, formatCount, formatDuration, formatTime } from '../../lib/format.ts';
import { settle } from '../../lib/result.ts';
import { usePorthole, usePortholeStore, type TunnelTab } from '../../store/index.ts';
import { ProfileEditor } from '../profiles/ProfileEditor.tsx';
import { RequestsTab } from '../requests/RequestsTab.tsx';
import { phaseWords } from './phase.ts';
import { useTunnelSwitch } from './useTunnelSwitch.ts';

/** True for an address only this computer reaches (a phone scanning the QR code would not). */
function isLocalOnly(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host.endsWith('.localhost') || host.startsWith('127.') || host === '::1';
  } catch {
    return false;
  }
}

function StatusDetail({ tunnel }: { tunnel: TunnelView }) {
  const { t, i18n } = useTranslation();
  const s = tunnel.state;
  const now = useNow(s.phase === 'reconnecting');
  const lang = i18n.language;
  switch (s.phase) {
    case 'stopped':
      return <p className="ph-muted">{t('status.stopped')}</p>;
    case 'starting':
      return <p>{t('status.starting')}</p>;
    case 'online':
      return <p>{t('status.onlineSince', { time: formatTime(s.since, lang) })}</p>;
    case 'reconnecting':
      return (
        <div className="ph-status-box ph-status-warn" role="status">
          <p>{t('status.reconnecting', { attempt: s.attempt })}</p>
          <p>
            {t('status.lastError')} <span className="ph-mono">{s.lastError}</span>
          </p>
          <p>
            {t('status.nextRetry', {
              time: formatTime(s.nextRetryAt, lang),
              seconds: Math.max(0, Math.ceil((s.nextRetryAt - now) / 1000)),
            })}
          </p>
        </div>
      );
    case 'failed':
      return (
        <div className="ph-status-box ph-status-error" role="alert">
          <p>{t('status.failed')}</p>
          <p className="ph-mono">{s.reason}</p>
        </div>
      );
  }
}

/** The live counters: as cards, or (folded) in one line with short names, the full ones as titles. */
function Counters({ tunnel, folded = false }: { tunnel: TunnelView; folded?: boolean }) {
  const { t, i18n } = useTranslation();
  const c = tunnel.counters;
  const lang = i18n.language;
  const ms = (v: number | null): string => (v === null ? t('counters.none') : formatDuration(v, lang));
  const items: Array<[string, string, string]> = [
    [t('counters.requests'), t('counters.requests'), formatCount(c.requests, lang)],
    [t('counters.inFlight'), t('counters.inFlight'), formatCount(c.inFlight, lang)],
    [t('counters.bytesIn'), t('counters.bytesIn'), formatBytes(c.bytesIn, lang)],
    [t('counters.bytesOut'), t('counters.bytesOut'), formatBytes(c.bytesOut, lang)],
    [t('counters.p50'), t('counters.p50Short'), ms(c.p50Ms)],
    [t('counters.p95'), t('counters.p95Short'), ms(c.p95Ms)],
  ];
  return (
    <dl
      className={folded ? 'ph-counters ph-counters-folded' : 'ph-counters'}
      role="group"
      aria-label={t('counters.label')}
    >
      {items.map(([full, short, v]) => (
        <div key={full} className="ph-counter">
          {folded && short !== full ? <dt title={full}>{short}</dt> : <dt>{full}</dt>}
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function DeleteButton({ tunnel }: { tunnel: TunnelView }) {
  const { t } = useTranslation();
  const bridge = useBridge();
  const run = useCommand();
  const inform = useInform();
  const store = usePortholeStore();
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="ph-button ph-button-danger" onClick={() => setAsking(true)}>
        {t('tunnel.delete')}
      </button>
    );
  }
  const remove = async (): Promise<void> => {
    const done = await run(() => bridge.profiles.delete({ id: tunnel.id }), 'errors.delete', { name: tunnel.name });
    setAsking(false);
    if (done) {
      store.getState().showView({ kind: 'home' });
      inform('tunnel.deleted', { name: tunnel.name });
    }
  };
  return (
    <span className="ph-confirm" role="group" aria-label={t('tunnel.deleteConfirm', { name: tunnel.name })}>
      <span>{t('tunnel.deleteConfirm', { name: tunnel.name })}</span>
      <button type="button" className="ph-button ph-button-danger" onClick={() => void remove()}>
        {t('tunnel.deleteYes')}
      </button>
      <button type="button" className="ph-button" onClick={() => setAsking(false)}>
        {t('tunnel.deleteNo')}
      </button>
    </span>
  );
}

export function TunnelPage({ tunnel }: { tunnel: TunnelView }) {
  const { t } = useTranslation();
  const bridge = useBridge();
  const run = useCommand();
  const inform = useInform();
  const store = usePortholeStore();
  const tab = usePorthole((s) => s.tunnelTab);
  const profile = usePorthole((s) => s.profiles[tunnel.id]);
  const { running, busy, toggle } = useTunnelSwitch(tunnel);
  const overviewId = useId();
  const requestOpen = usePorthole((s) => s.tunnelTab === 'requests' && s.selectedRequestId !== null);
  // Folded while a request is open, unfolded otherwise, unless the person chose otherwise since the
  // last time a request was opened or closed.
  const [choice, setChoice] = useState<{ requestOpen: boolean; expanded: boolean } | null>(null);
  const expanded = choice !== null && choice.requestOpen === requestOpen ? choice.expanded : !requestOpen;

  const copy = async (): Promise<void> => {
    // copyText answers null on success, so its Result is read here rather than through run().
    const r = await settle(() => bridge.copyText(tunnel.publicUrl));
    if (r.ok) inform('tunnel.copied', { url: tunnel.publicUrl });
    else store.getState().notify({ tone: 'error', key: 'errors.copy', detail: r.error.message });
  };
  const open = (): void => {
    void run(() => bridge.openExternal(tunnel.publicUrl), 'errors.open');
  };
  const duplicate = async (): Promise<void> => {
    const copyOf = await run(() => bridge.profiles.duplicate({ id: tunnel.id }), 'errors.duplicate', {
      name: tunnel.name,
    });
    if (copyOf) store.getState().openTunnel(copyOf.id, 'profile');
  };

  const tabs: Array<{ key: TunnelTab; label: string }> = [
    { key: 'requests', label: t('tunnel.tabRequests') },
    { key: 'profile', label: t('tunnel.tabProfile') },
  ];
  const online = tunnel.state.phase === 'online';
  const publicUrl = (
    <div className="ph-url-row">
      <span className="ph-label">{t('tunnel.publicUrl')}</span>
      <code className="ph-public-url" data-online={online} title={tunnel.publicUrl}>
        {tunnel.publicUrl}
      </code>
      <button type="button" className="ph-button ph-button-small" onClick={() => void copy()}>
        {t('tunnel.copy')}
      </button>
      <button type="button" className="ph-button ph-button-small" onClick={open}>
        {t('tunnel.open')}
      </button>
    </div>
  );
  return (
    <article className="ph-tunnel-page" aria-labelledby="ph-tunnel-title">
      <header className="ph-page-head">
        <h1 id="ph-tunnel-title">{tunnel.name}</h1>
        <span className="ph-tunnel-status" data-phase={tunnel.state.phase}>
          <StatusDot phase={tunnel.state.phase} /> {phaseWords(t, tunnel.state)}
        </span>
        <Switch
          checked={running}
          disabled={busy}
          label={t('tunnels.switch', { name: tunnel.name })}
          onChange={toggle}
        />
        <span className="ph-toolbar-gap" />
        <button
          type="button"
          className="ph-button ph-button-quiet"
          aria-expanded={expanded}
          aria-controls={overviewId}
          onClick={() => setChoice({ requestOpen, expanded: !expanded })}
        >
          <span className="ph-disclosure" aria-hidden="true">
            {expanded ? '▾' : '▸'}
          </span>{' '}
          {expanded ? t('tunnel.hideOverview') : t('tunnel.showOverview')}
        </button>
        <button type="button" className="ph-button" onClick={() => void duplicate()}>
          {t('tunnel.duplicate')}
        </button>
        <DeleteButton key={tunnel.id} tunnel={tunnel} />
      </header>
      {expanded ? null : (
        <div className="ph-overview ph-overview-folded" id={overviewId}>
          {/* Online goes without saying (the header says it); any other state is news. */}
          {tunnel.state.phase === 'online' ? null : <StatusDetail tunnel={tunnel} />}
          <Counters tunnel={tunnel} folded />
        </div>
      )}
      {expanded ? (
        <div className="ph-overview" id={overviewId}>
          <div className="ph-overview-main">
            <StatusDetail tunnel={tunnel} />
            {publicUrl}
            <div className="ph-url-row">
              <span className="ph-label">{t('tunnel.upstream')}</span>
              <code>{tunnel.target}</code>
            </div>
            <Counters tunnel={tunnel} />
          </div>
          <figure className="ph-qr-figure">
            <QrCode text={tunnel.publicUrl} label={t('tunnel.qrLabel', { url: tunnel.publicUrl })} />
            <figcaption className="ph-muted">
              {isLocalOnly(tunnel.publicUrl) ? t('tunnel.qrLocalOnly') : t('tunnel.qrHint')}
            </figcaption>
          </figure>
        </div>
      ) : null}
      <Tabs
        label={t('tunnel.tabs')}
        tabs={tabs}
        active={tab}
        onChange={(k) => store.getState().setTunnelTab(k)}
        aside={expanded ? undefined : publicUrl}
      >
        {tab === 'requests' ? <RequestsTab tunnel={tunnel} /> : null}
        {tab === 'profile' ? (
          profile ? (
            <ProfileEditor key={tunnel.id} profile={profile} />
          ) : (
            <p className="ph-muted">{t('profile.loading')}</p>
          )
        ) : null}
      </Tabs>
    </article>
  );
}
