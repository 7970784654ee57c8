// The app's settings (language, theme, launch at login, notifications), shared with the tray menu.
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import type { Language, Settings } from '../../../../src-main/ipc/contract.ts';
import { useBridge } from '../../context.ts';
import { useCommand } from '../../hooks/useCommand.ts';
import { LANGUAGES } from '../../i18n/index.ts';
import { usePorthole, usePortholeStore } from '../../store/index.ts';

const THEMES: ReadonlyArray<Settings['theme']> = ['system', 'light', 'dark'];

export function SettingsPage() {
  const { t } = useTranslation();
  const bridge = useBridge();
  const run = useCommand();
  const store = usePortholeStore();
  const settings = usePorthole((s) => s.settings);
  const info = usePorthole((s) => s.appInfo);
  const ids = useId();
  const headless = info?.shell === 'headless';

  const change = async (patch: Partial<Settings>): Promise<void> => {
    const next = await run(() => bridge.settings.set(patch), 'errors.settings');
    if (next) store.getState().setSettings(next);
  };

  return (
    <section className="ph-settings" aria-labelledby={`${ids}-title`}>
      <h1 id={`${ids}-title`}>{t('settings.title')}</h1>
      {settings === null ? (
        <p className="ph-muted">{t('settings.loading')}</p>
      ) : (
        <form className="ph-form" onSubmit={(e) => e.preventDefault()}>
          <div className="ph-field">
            <label htmlFor={`${ids}-language`}>{t('settings.language')}</label>
            <select
              id={`${ids}-language`}
              value={settings.language}
              onChange={(e) => void change({ language: e.target.value as Language })}
            >
              {LANGUAGES.map((l) => (
                <option key={l} value={l} lang={l}>
                  {t(`languages.${l}`)}
                </option>
              ))}
            </select>
          </div>
          <fieldset>
            <legend>{t('settings.theme')}</legend>
            <div className="ph-radios">
              {THEMES.map((theme) => (
                <label key={theme} className="ph-check">
                  <input
                    type="radio"
                    name={`${ids}-theme`}
                    checked={settings.theme === theme}
                    onChange={() => void change({ theme })}
                  />
                  {t(`settings.themes.${theme}`)}
                </label>
              ))}
            </div>
          </fieldset>
          <label className="ph-check">
            <input
              type="checkbox"
              checked={settings.launchAtLogin}
              disabled={headless}
              aria-describedby={headless ? `${ids}-desktop-only` : undefined}
              onChange={(e) => void change({ launchAtLogin: e.target.checked })}
            />
            {t('settings.launchAtLogin')}
          </label>
          <label className="ph-check">
            <input
              type="checkbox"
              checked={settings.notifications}
              disabled={headless}
              aria-describedby={headless ? `${ids}-desktop-only` : undefined}
              onChange={(e) => void change({ notifications: e.target.checked })}
            />
            {t('settings.notifications')}
          </label>
          {headless ? (
            <p id={`${ids}-desktop-only`} className="ph-hint">
              {t('settings.desktopOnly')}
            </p>
          ) : null}
        </form>
      )}
      {info ? (
        <section className="ph-about" aria-labelledby={`${ids}-about`}>
          <h2 id={`${ids}-about`}>{t('settings.about')}</h2>
          <p>
            {t('settings.version', { version: info.version })}
            {' · '}
            {t(info.shell === 'electron' ? 'settings.shellElectron' : 'settings.shellHeadless')}
            {' · '}
            {info.platform}
          </p>
          <p>
            {t(info.secrets.encrypted ? 'settings.secretsEncrypted' : 'settings.secretsClear', {
              backend: info.secrets.backend,
            })}
          </p>
        </section>
      ) : null}
    </section>
  );
}
