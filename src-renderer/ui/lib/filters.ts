import type { RequestSummaryView } from '../../../src-main/ipc/contract.ts';
import type { RequestFilters } from '../store/index.ts';
import { entryKind, methodLabel, TCP_FILTER, WEBSOCKET_FILTER } from './entry.ts';
import { displayPath } from './path.ts';

function matches(r: RequestSummaryView, f: RequestFilters, text: string): boolean {
  if (f.method) {
    const kind = entryKind(r);
    // WebSocket sessions and TCP connections by their kind; an HTTP method finds plain requests only.
    if (f.method === WEBSOCKET_FILTER || f.method === TCP_FILTER) {
      if (kind !== (f.method === TCP_FILTER ? 'tcp' : 'websocket')) return false;
    } else if (kind !== 'http' || r.method.toUpperCase() !== f.method) return false;
  }
  if (f.statusClass) {
    if (f.statusClass === 'error') {
      if (r.error === null && r.refusedBy === null) return false;
    } else if (r.status === null || `${Math.floor(r.status / 100)}xx` !== f.statusClass) return false;
  }
  if (text) {
    // The path as sent and as shown (decoded), so that both `%E4%B8%AD` and `中` find it.
    const shown = displayPath(r.url);
    const path = shown === r.url ? r.url : `${r.url} ${shown}`;
    const kind = entryKind(r) === 'websocket' ? `${methodLabel(r)} websocket ` : '';
    const haystack = `${kind}${r.method} ${path} ${r.status ?? ''} ${r.visitorIp} ${r.error ?? ''}`.toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

/** The summaries that pass the filters, newest first (as the list shows them). */
export function filterRequests(items: readonly RequestSummaryView[], f: RequestFilters): RequestSummaryView[] {
  const text = f.text.trim().toLowerCase();
  const out: RequestSummaryView[] = [];
  for (let i = items.length - 1; i >= 0; i--) {
    const r = items[i]!;
    if (matches(r, f, text)) out.push(r);
  }
  return out;
}
