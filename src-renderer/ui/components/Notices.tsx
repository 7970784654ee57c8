import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { usePorthole, usePortholeStore, type Notice } from '../store/index.ts';

/** How long an informational notice stays; errors stay until dismissed. */
const INFO_MS = 4000;

function NoticeItem({ notice }: { notice: Notice }) {
  const { t } = useTranslation();
  const store = usePortholeStore();
  useEffect(() => {
    if (notice.tone !== 'info') return undefined;
    const timer = setTimeout(() => store.getState().dismiss(notice.id), INFO_MS);
    return () => clearTimeout(timer);
  }, [notice, store]);
  return (
    <li className={`ph-notice ph-notice-${notice.tone}`}>
      <span>
        {t(notice.key, notice.params ?? {})}
        {notice.detail ? <span className="ph-notice-detail">{notice.detail}</span> : null}
      </span>
      <button
        type="button"
        className="ph-icon-button"
        aria-label={t('notices.dismiss')}
        onClick={() => store.getState().dismiss(notice.id)}
      >
        ×
      </button>
    </li>
  );
}

/** Errors (an alert region) and passing messages (a status region), bottom right. */
export function Notices() {
  const { t } = useTranslation();
  const notices = usePorthole((s) => s.notices);
  const errors = notices.filter((n) => n.tone === 'error');
  const infos = notices.filter((n) => n.tone === 'info');
  return (
    <div className="ph-notices">
      <ul role="alert" aria-label={t('notices.errors')}>
        {errors.map((n) => (
          <NoticeItem key={n.id} notice={n} />
        ))}
      </ul>
      <ul role="status" aria-label={t('notices.messages')}>
        {infos.map((n) => (
          <NoticeItem key={n.id} notice={n} />
        ))}
      </ul>
    </div>
  );
}
