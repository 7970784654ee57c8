import { useTranslation } from 'react-i18next';

/** A status code in its class's colour; in flight while null. */
export function StatusCode({ status }: { status: number | null }) {
  const { t } = useTranslation();
  if (status === null) return <span className="ph-status-code ph-status-pending">{t('requests.inFlight')}</span>;
  const c = Math.floor(status / 100);
  return <span className={`ph-status-code ph-status-${c >= 1 && c <= 5 ? c : 0}xx`}>{status}</span>;
}
