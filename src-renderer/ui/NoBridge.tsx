// What the page shows when it has no way to reach Porthole: opened in a browser without the address
// the `porthole` command printed (its #token=... part), or outside the desktop app.
import { useState } from 'react';
import { I18nextProvider, useTranslation } from 'react-i18next';
import { createI18n, systemLanguage } from './i18n/index.ts';
import './porthole.css';

function Message() {
  const { t } = useTranslation();
  return (
    <div className="ph-app ph-app-bare" data-theme="system">
      <main className="ph-empty">
        <h1>{t('app.name')}</h1>
        <p>{t('app.noBridge')}</p>
      </main>
    </div>
  );
}

export function NoBridge() {
  const [i18n] = useState(() => createI18n(systemLanguage()));
  return (
    <I18nextProvider i18n={i18n}>
      <Message />
    </I18nextProvider>
  );
}
