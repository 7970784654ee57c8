import { useTranslation } from 'react-i18next';
import type { RequestSummaryView } from '../../../../src-main/ipc/contract.ts';
import { entryKind, methodLabel } from '../../lib/entry.ts';

/** A record's method as the list and the detail show it: `WS` (spelt out on hover) for a WebSocket session. */
export function MethodLabel({ r }: { r: Pick<RequestSummaryView, 'method' | 'status'> }) {
  const { t } = useTranslation();
  if (entryKind(r) !== 'websocket') return <>{r.method}</>;
  return (
    <abbr className="ph-kind-ws" title={t('requests.kindWebSocket')}>
      {methodLabel(r)}
    </abbr>
  );
}
