// The Requests tab: filters, pause, clear and HAR export over the live list, and the detail of the
// selected request beside it.
import { useCallback, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { TunnelView } from '../../../../src-main/ipc/contract.ts';
import { useBridge } from '../../context.ts';
import { useCommand } from '../../hooks/useCommand.ts';
import { saveFile } from '../../lib/download.ts';
import { TCP_FILTER, WEBSOCKET_FILTER } from '../../lib/entry.ts';
import { filterRequests } from '../../lib/filters.ts';
import { formatCount } from '../../lib/format.ts';
import { settle } from '../../lib/result.ts';
import { NO_REQUESTS, usePorthole, usePortholeShallow, usePortholeStore, type StatusClass } from '../../store/index.ts';
import { RequestDetailPanel } from './RequestDetailPanel.tsx';
import { RequestList } from './RequestList.tsx';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const STATUS_CLASSES: StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error'];

export function RequestsTab({ tunnel }: { tunnel: TunnelView }) {
  const { t, i18n } = useTranslation();
  const bridge = useBridge();
  const run = useCommand();
  const store = usePortholeStore();
  const log = usePorthole((s) => s.requests[tunnel.id] ?? NO_REQUESTS);
  const { filters, selectedId, checkedIds } = usePortholeShallow((s) => ({
    filters: s.filters,
    selectedId: s.selectedRequestId,
    checkedIds: s.checkedRequestIds,
  }));
  const rows = useMemo(() => filterRequests(log.items, filters), [log.items, filters]);
  const checked = useMemo(() => new Set(checkedIds), [checkedIds]);
  const lang = i18n.language;

  const onSelect = useCallback((id: string) => store.getState().selectRequest(id), [store]);
  const onToggleChecked = useCallback((id: string) => store.getState().toggleChecked(id), [store]);

  const clear = async (): Promise<void> => {
    // `requests:clear` answers null on success, so its Result is read here rather than through run().
    const r = await settle(() => bridge.requests.clear({ tunnelId: tunnel.id }));
    if (r.ok) store.getState().clearRequests(tunnel.id);
    else store.getState().notify({ tone: 'error', key: 'errors.clear', detail: r.error.message });
  };
  const exportHar = async (ids?: string[]): Promise<void> => {
    const file = await run(
      () => bridge.requests.exportHar({ tunnelId: tunnel.id, ...(ids ? { ids } : {}) }),
      'errors.exportHar',
    );
    if (file) saveFile(file);
  };

  const total = log.items.length;
  const filtered = filters.text !== '' || filters.method !== '' || filters.statusClass !== '';
  return (
    <div className="ph-requests">
      <div className="ph-toolbar" role="toolbar" aria-label={t('requests.toolbar')}>
        <input
          type="search"
          className="ph-search"
          placeholder={t('requests.filterPlaceholder')}
          aria-label={t('requests.filterText')}
          value={filters.text}
          onChange={(e) => store.getState().setFilters({ text: e.target.value })}
        />
        <select
          aria-label={t('requests.filterMethod')}
          value={filters.method}
          onChange={(e) => store.getState().setFilters({ method: e.target.value })}
        >
          <option value="">{t('requests.allMethods')}</option>
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
          <option value={WEBSOCKET_FILTER}>{t('requests.kindWebSocket')}</option>
          <option value={TCP_FILTER}>{t('requests.kindTcp')}</option>
        </select>
        <select
          aria-label={t('requests.filterStatus')}
          value={filters.statusClass}
          onChange={(e) => store.getState().setFilters({ statusClass: e.target.value as StatusClass | '' })}
        >
          <option value="">{t('requests.allStatuses')}</option>
          {STATUS_CLASSES.map((c) => (
            <option key={c} value={c}>
              {t(`requests.statusClass.${c}`)}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="ph-button"
          aria-pressed={log.paused}
          onClick={() => store.getState().setPaused(tunnel.id, !log.paused)}
        >
          {log.paused ? t('requests.resume', { count: log.pending.length }) : t('requests.pause')}
        </button>
        <button type="button" className="ph-button" disabled={total === 0} onClick={() => void clear()}>
          {t('requests.clear')}
        </button>
        <button
          type="button"
          className="ph-button ph-toolbar-end"
          disabled={checkedIds.length === 0}
          onClick={() => void exportHar([...checkedIds])}
        >
          {t('requests.exportSelected', { count: checkedIds.length })}
        </button>
        <button type="button" className="ph-button" disabled={total === 0} onClick={() => void exportHar()}>
          {t('requests.exportAll')}
        </button>
      </div>
      <p className="ph-count-line" aria-live="polite">
        {filtered
          ? t('requests.shownFiltered', { shown: formatCount(rows.length, lang), total: formatCount(total, lang) })
          : t('requests.shown', { count: total, total: formatCount(total, lang) })}
        {log.paused ? ` · ${t('requests.pausedNote', { count: log.pending.length })}` : ''}
      </p>
      <div className={`ph-requests-split${selectedId ? ' ph-with-detail' : ''}`}>
        {total === 0 ? (
          <div className="ph-requests-empty">
            <p>{t('requests.empty')}</p>
            <p className="ph-muted ph-mono">{tunnel.publicUrl}</p>
          </div>
        ) : (
          <RequestList
            rows={rows}
            selectedId={selectedId}
            checked={checked}
            onSelect={onSelect}
            onToggleChecked={onToggleChecked}
          />
        )}
        {selectedId ? (
          <RequestDetailPanel
            key={selectedId}
            tunnelId={tunnel.id}
            requestId={selectedId}
            publicUrl={tunnel.publicUrl}
            onClose={() => store.getState().selectRequest(null)}
          />
        ) : null}
      </div>
    </div>
  );
}
