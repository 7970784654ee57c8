// The left column: every tunnel with its status, public URL, request count and start/stop switch.
import { useTranslation } from 'react-i18next';
import type { TunnelView } from '../../../../src-main/ipc/contract.ts';
import { StatusDot } from '../../components/StatusDot.tsx';
import { Switch } from '../../components/Switch.tsx';
import { formatCount } from '../../lib/format.ts';
import { usePorthole, usePortholeStore } from '../../store/index.ts';
import { phaseWords } from './phase.ts';
import { useTunnelSwitch } from './useTunnelSwitch.ts';

function TunnelRow({ tunnel, selected }: { tunnel: TunnelView; selected: boolean }) {
  const { t, i18n } = useTranslation();
  const store = usePortholeStore();
  const { running, busy, toggle } = useTunnelSwitch(tunnel);
  const count = tunnel.counters.requests;
  return (
    <li className={`ph-tunnel-item${selected ? ' ph-selected' : ''}`} data-phase={tunnel.state.phase}>
      <button
        type="button"
        className="ph-tunnel-open"
        aria-current={selected ? 'page' : undefined}
        onClick={() => store.getState().openTunnel(tunnel.id)}
      >
        <span className="ph-tunnel-name">{tunnel.name}</span>
        <span className="ph-tunnel-status">
          <StatusDot phase={tunnel.state.phase} /> {phaseWords(t, tunnel.state)}
        </span>
        <span className="ph-tunnel-url ph-mono">{tunnel.publicUrl}</span>
        <span className="ph-tunnel-count">
          {t('tunnels.requestCount', { count, formatted: formatCount(count, i18n.language) })}
        </span>
      </button>
      <Switch checked={running} disabled={busy} label={t('tunnels.switch', { name: tunnel.name })} onChange={toggle} />
    </li>
  );
}

function TunnelListItem({ id }: { id: string }) {
  const tunnel = usePorthole((s) => s.tunnels[id]);
  const selected = usePorthole((s) => s.view.kind === 'tunnel' && s.view.tunnelId === id);
  return tunnel ? <TunnelRow tunnel={tunnel} selected={selected} /> : null;
}

export function TunnelList() {
  const { t } = useTranslation();
  const store = usePortholeStore();
  const ids = usePorthole((s) => s.tunnelIds);
  const creating = usePorthole((s) => s.view.kind === 'new-tunnel');
  return (
    <nav className="ph-tunnels" aria-label={t('tunnels.listLabel')}>
      <div className="ph-tunnels-head">
        <h2>{t('tunnels.title')}</h2>
        <button
          type="button"
          className="ph-button ph-button-small"
          aria-current={creating ? 'page' : undefined}
          onClick={() => store.getState().showView({ kind: 'new-tunnel' })}
        >
          {t('tunnels.new')}
        </button>
      </div>
      {ids.length ? (
        <ul className="ph-tunnel-list">
          {ids.map((id) => (
            <TunnelListItem key={id} id={id} />
          ))}
        </ul>
      ) : (
        <p className="ph-muted ph-tunnels-none">{t('tunnels.none')}</p>
      )}
    </nav>
  );
}
