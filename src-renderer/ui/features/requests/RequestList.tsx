// The live request list, virtualized: only the rows in view are in the DOM, so a full log of 500 and
// batches arriving several times a second cost a few dozen rows of work. Newest first; when the
// person has scrolled down, rows arriving on top do not move what they are reading.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useLayoutEffect, useRef, type CSSProperties, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { RequestSummaryView } from '../../../../src-main/ipc/contract.ts';
import { entryKind } from '../../lib/entry.ts';
import { formatBytes, formatClock, formatDuration } from '../../lib/format.ts';
import { displayPath } from '../../lib/path.ts';
import { MethodLabel } from './MethodLabel.tsx';
import { StatusCode } from './StatusCode.tsx';

export const ROW_HEIGHT = 30;

/** The header of each column after the check box, in the order a row's cells come. */
const COLUMNS = [
  ['ph-col-time', 'requests.colTime'],
  ['ph-col-method', 'requests.colMethod'],
  ['ph-col-path', 'requests.colPath'],
  ['ph-col-status', 'requests.colStatus'],
  ['ph-col-duration ph-num', 'requests.colDuration'],
  ['ph-col-size ph-num', 'requests.colSize'],
  ['ph-col-ip', 'requests.colIp'],
] as const;

export interface RequestListProps {
  rows: readonly RequestSummaryView[];
  selectedId: string | null;
  checked: ReadonlySet<string>;
  onSelect(id: string): void;
  onToggleChecked(id: string): void;
}

interface RowProps {
  r: RequestSummaryView;
  index: number;
  selected: boolean;
  checked: boolean;
  top: number;
  lang: string;
  onSelect(id: string): void;
  onToggleChecked(id: string): void;
}

const Row = memo(function Row({ r, index, selected, checked, top, lang, onSelect, onToggleChecked }: RowProps) {
  const { t } = useTranslation();
  const style: CSSProperties = { transform: `translateY(${top}px)`, height: ROW_HEIGHT };
  const kind = entryKind(r);
  const path = displayPath(r.url);
  const name = `${kind === 'websocket' ? t('requests.kindWebSocket') : r.method} ${path}`;
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`ph-req-row${selected ? ' ph-selected' : ''}${r.error ? ' ph-req-error' : ''}`}
      style={style}
      onClick={() => onSelect(r.id)}
    >
      <div role="cell" className="ph-col-check" onClick={(e) => e.stopPropagation()}>
        <input
          type="checkbox"
          checked={checked}
          aria-label={t('requests.check', { name })}
          onChange={() => onToggleChecked(r.id)}
        />
      </div>
      <div role="cell" className="ph-col-time ph-mono">
        {formatClock(r.startedAt, lang)}
      </div>
      <div role="cell" className="ph-col-method ph-method">
        <MethodLabel r={r} />
      </div>
      <div role="cell" className="ph-col-path">
        <button
          type="button"
          className="ph-row-open ph-mono"
          tabIndex={selected ? 0 : -1}
          aria-label={t(r.replayOf ? 'requests.openReplay' : 'requests.open', {
            name,
            status: r.status ?? t('requests.inFlight'),
          })}
          onClick={(e) => {
            e.stopPropagation();
            onSelect(r.id);
          }}
        >
          {r.replayOf ? <span className="ph-replay-mark">{t('requests.replayMark')} </span> : null}
          {path}
        </button>
        {kind !== 'http' ? (
          <span className="ph-traffic">
            {t('requests.traffic', { in: formatBytes(r.requestBytes, lang), out: formatBytes(r.responseBytes, lang) })}
          </span>
        ) : null}
      </div>
      <div role="cell" className="ph-col-status">
        <StatusCode status={r.status} />
        {r.refusedBy ? <span className="ph-chip ph-chip-small">{t(`requests.refused.${r.refusedBy}`)}</span> : null}
      </div>
      <div role="cell" className="ph-col-duration ph-num">
        {r.durationMs === null ? '' : formatDuration(r.durationMs, lang)}
      </div>
      <div role="cell" className="ph-col-size ph-num">
        {formatBytes(r.responseBytes, lang)}
      </div>
      <div role="cell" className="ph-col-ip ph-mono">
        {r.visitorIp}
      </div>
    </div>
  );
});

export function RequestList({ rows, selectedId, checked, onSelect, onToggleChecked }: RequestListProps) {
  const { t, i18n } = useTranslation();
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    getItemKey: (i) => rows[i]?.id ?? i,
  });

  // Keep the rows in view where they are when new ones arrive on top.
  const topId = useRef<string | null>(null);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    const previous = topId.current;
    topId.current = rows[0]?.id ?? null;
    if (!el || previous === null || el.scrollTop === 0) return;
    const moved = rows.findIndex((r) => r.id === previous);
    if (moved > 0) el.scrollTop += moved * ROW_HEIGHT;
  }, [rows]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const at = selectedId === null ? -1 : rows.findIndex((r) => r.id === selectedId);
    const next = e.key === 'ArrowDown' ? Math.min(rows.length - 1, at + 1) : Math.max(0, at - 1);
    const r = rows[next];
    if (!r) return;
    onSelect(r.id);
    virtualizer.scrollToIndex(next);
  };

  const lang = i18n.language;
  return (
    <div role="table" aria-label={t('requests.listLabel')} aria-rowcount={rows.length + 1} className="ph-req-table">
      <div role="rowgroup" className="ph-req-head">
        <div role="row" aria-rowindex={1} className="ph-req-row ph-req-header">
          <div role="columnheader" className="ph-col-check">
            <span className="ph-visually-hidden">{t('requests.colSelect')}</span>
          </div>
          {COLUMNS.map(([className, label]) => (
            <div key={className} role="columnheader" className={className}>
              {t(label)}
            </div>
          ))}
        </div>
      </div>
      <div
        role="rowgroup"
        ref={scrollRef}
        className="ph-req-scroll"
        tabIndex={0}
        aria-label={t('requests.rowsLabel')}
        onKeyDown={onKeyDown}
      >
        <div className="ph-req-spacer" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((v) => {
            const r = rows[v.index];
            if (!r) return null;
            return (
              <Row
                key={v.key}
                r={r}
                index={v.index}
                selected={r.id === selectedId}
                checked={checked.has(r.id)}
                lang={lang}
                top={v.start}
                onSelect={onSelect}
                onToggleChecked={onToggleChecked}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}
