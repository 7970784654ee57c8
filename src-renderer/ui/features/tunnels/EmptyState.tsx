// What a person sees before any tunnel exists: what a tunnel is, the offline demo (no network at
// all), and the public relay for a service of their own.
import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useBridge } from '../../context.ts';
import { useCommand } from '../../hooks/useCommand.ts';
import { usePorthole, usePortholeStore } from '../../store/index.ts';

export function EmptyState() {
  const { t } = useTranslation();
  const bridge = useBridge();
  const run = useCommand();
  const store = usePortholeStore();
  const presets = usePorthole((s) => s.presets);
  const ids = useId();
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState(false);
  const demo = presets.find((p) => p.id === 'local-demo');
  const publicRelay = presets.find((p) => p.id === 'public-fpw');

  const createDemo = async (): Promise<void> => {
    setBusy(true);
    const profile = await run(() => bridge.profiles.createFromPreset({ preset: 'local-demo' }), 'errors.createDemo');
    if (profile) {
      store.getState().openTunnel(profile.id);
      const view = await run(() => bridge.tunnels.start({ id: profile.id }), 'errors.start', { name: profile.name });
      if (view) store.getState().updateTunnel(view);
    }
    setBusy(false);
  };

  const createPublic = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!target.trim()) return;
    setBusy(true);
    const profile = await run(
      () => bridge.profiles.createFromPreset({ preset: 'public-fpw', target: target.trim() }),
      'errors.create',
    );
    setBusy(false);
    if (profile) store.getState().openTunnel(profile.id);
  };

  return (
    <section className="ph-empty" aria-labelledby={`${ids}-title`}>
      <h1 id={`${ids}-title`}>{t('empty.title')}</h1>
      <p>{t('empty.what')}</p>
      <p>{t('empty.how')}</p>
      {demo ? (
        <div className="ph-card">
          <h2>{t('empty.demoTitle')}</h2>
          <p>{t('empty.demoText')}</p>
          <button
            type="button"
            className="ph-button ph-button-primary"
            disabled={busy}
            onClick={() => void createDemo()}
          >
            {t('empty.demoButton')}
          </button>
        </div>
      ) : null}
      {publicRelay ? (
        <form className="ph-card" onSubmit={(e) => void createPublic(e)}>
          <h2>{t('empty.publicTitle', { domain: publicRelay.domain })}</h2>
          <p>{t('empty.publicText', { domain: publicRelay.domain })}</p>
          <div className="ph-field">
            <label htmlFor={`${ids}-target`}>{t('empty.target')}</label>
            <input
              id={`${ids}-target`}
              className="ph-mono"
              placeholder="http://127.0.0.1:3000"
              value={target}
              onChange={(e) => setTarget(e.target.value)}
            />
          </div>
          <button type="submit" className="ph-button" disabled={busy || !target.trim()}>
            {t('empty.publicButton')}
          </button>
        </form>
      ) : null}
      <p>
        <button
          type="button"
          className="ph-link-button"
          onClick={() => store.getState().showView({ kind: 'new-tunnel' })}
        >
          {t('empty.custom')}
        </button>
      </p>
    </section>
  );
}
