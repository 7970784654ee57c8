// One request, fetched by id when opened: overview and timing, headers and bodies both ways, and the
// actions (replay, edit and replay, copy as cURL, export HAR). A replay's answer is shown beside the
// original's. A visitor's WebSocket session opens on its traffic each way, its close codes and its
// last messages, with its handshake's headers a tab away.
import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type {
  CommandPayload,
  RequestDetail,
  RequestSummaryView,
  WsMessageView,
} from '../../../../src-main/ipc/contract.ts';
import { Tabs } from '../../components/Tabs.tsx';
import { useBridge } from '../../context.ts';
import { useCommand, useInform } from '../../hooks/useCommand.ts';
import { asText, decodeBase64 } from '../../lib/body.ts';
import { copyPlainText } from '../../lib/clipboard.ts';
import { toCurl } from '../../lib/curl.ts';
import { saveFile } from '../../lib/download.ts';
import { entryKind } from '../../lib/entry.ts';
import { formatBytes, formatCount, formatDateTime, formatDuration } from '../../lib/format.ts';
import { displayPath } from '../../lib/path.ts';
import { settle } from '../../lib/result.ts';
import { usePortholeStore } from '../../store/index.ts';
import { BodyViewer } from './BodyViewer.tsx';
import { EditReplayForm } from './EditReplayForm.tsx';
import { HeadersTable } from './HeadersTable.tsx';
import { MethodLabel } from './MethodLabel.tsx';
import { StatusCode } from './StatusCode.tsx';

export type ReplayEdit = NonNullable<CommandPayload<'requests:replay'>['edit']>;

type DetailTab = 'overview' | 'request' | 'response' | 'replay';

type Loaded = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ok'; detail: RequestDetail };

type Replay =
  | { status: 'sending' }
  | { status: 'done'; summary: RequestSummaryView; detail: RequestDetail | null }
  | { status: 'failed'; message: string };

export interface RequestDetailPanelProps {
  tunnelId: string;
  requestId: string;
  publicUrl: string;
  onClose(): void;
}

export function RequestDetailPanel({ tunnelId, requestId, publicUrl, onClose }: RequestDetailPanelProps) {
  const { t } = useTranslation();
  const bridge = useBridge();
  const [loaded, setLoaded] = useState<Loaded>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    setLoaded({ status: 'loading' });
    void settle(() => bridge.requests.get({ tunnelId, id: requestId })).then((r) => {
      if (!live) return;
      setLoaded(r.ok ? { status: 'ok', detail: r.value } : { status: 'error', message: r.error.message });
    });
    return () => {
      live = false;
    };
  }, [bridge, tunnelId, requestId]);

  return (
    <section className="ph-detail" aria-label={t('detail.label')}>
      <button type="button" className="ph-icon-button ph-detail-close" aria-label={t('detail.close')} onClick={onClose}>
        ×
      </button>
      {loaded.status === 'loading' ? <p className="ph-muted">{t('detail.loading')}</p> : null}
      {loaded.status === 'error' ? (
        <p className="ph-error" role="alert">
          {t('detail.loadFailed')} <span className="ph-notice-detail">{loaded.message}</span>
        </p>
      ) : null}
      {loaded.status === 'ok' ? <Detail detail={loaded.detail} tunnelId={tunnelId} publicUrl={publicUrl} /> : null}
    </section>
  );
}

function Detail({ detail, tunnelId, publicUrl }: { detail: RequestDetail; tunnelId: string; publicUrl: string }) {
  const { t, i18n } = useTranslation();
  const bridge = useBridge();
  const run = useCommand();
  const inform = useInform();
  const store = usePortholeStore();
  const reasonId = useId();
  const [tab, setTab] = useState<DetailTab>('overview');
  const [replay, setReplay] = useState<Replay | null>(null);
  const [editing, setEditing] = useState(false);

  const sendReplay = async (edit?: ReplayEdit): Promise<void> => {
    setEditing(false);
    setReplay({ status: 'sending' });
    setTab('replay');
    const r = await settle(() =>
      bridge.requests.replay({ tunnelId, id: detail.id, ...(edit && Object.keys(edit).length ? { edit } : {}) }),
    );
    if (!r.ok) {
      setReplay({ status: 'failed', message: r.error.message });
      return;
    }
    store.getState().receiveBatch([r.value]);
    const got = await settle(() => bridge.requests.get({ tunnelId, id: r.value.id }));
    setReplay({ status: 'done', summary: r.value, detail: got.ok ? got.value : null });
  };

  const copyCurl = async (): Promise<void> => {
    const shown = decodeBase64(detail.requestBody.base64).length;
    const text = toCurl(detail, publicUrl, { cutNote: t('curl.cut', { shown, size: detail.requestBody.size }) });
    if (await copyPlainText(text)) inform('detail.curlCopied');
    else store.getState().notify({ tone: 'error', key: 'errors.copy' });
  };

  const exportHar = async (): Promise<void> => {
    const file = await run(() => bridge.requests.exportHar({ tunnelId, ids: [detail.id] }), 'errors.exportHar');
    if (file) saveFile(file);
  };

  const tabs: Array<{ key: DetailTab; label: string }> = [
    { key: 'overview', label: t('detail.tabOverview') },
    { key: 'request', label: t('detail.tabRequest') },
    { key: 'response', label: t('detail.tabResponse') },
  ];
  if (replay) tabs.push({ key: 'replay', label: t('detail.tabReplay') });

  const kind = entryKind(detail);
  // A session's handshake is not a request to send again.
  const http = kind === 'http';
  const notReplayable = !detail.replayable;
  return (
    <>
      <header className="ph-detail-head">
        <h2 className="ph-detail-title">
          <span className="ph-method">
            <MethodLabel r={detail} />
          </span>{' '}
          <span className="ph-mono ph-break">{displayPath(detail.url)}</span>
        </h2>
        <StatusCode status={detail.status} />
        {detail.replayOf ? <span className="ph-chip">{t('detail.isReplay')}</span> : null}
      </header>
      {kind === 'tcp' ? (
        // A connection has no headers or bodies, and nothing to send again or to export.
        <TcpOverview detail={detail} />
      ) : (
        <>
          <div className="ph-actions" role="toolbar" aria-label={t('detail.actions')}>
            {http ? (
              <>
                <button
                  type="button"
                  className="ph-button ph-button-primary"
                  disabled={notReplayable || replay?.status === 'sending'}
                  aria-describedby={notReplayable ? reasonId : undefined}
                  title={
                    notReplayable
                      ? t('detail.notReplayable', { size: formatBytes(detail.requestBody.size, i18n.language) })
                      : undefined
                  }
                  onClick={() => void sendReplay()}
                >
                  {t('detail.replay')}
                </button>
                <button
                  type="button"
                  className="ph-button"
                  aria-expanded={editing}
                  disabled={replay?.status === 'sending'}
                  onClick={() => setEditing((e) => !e)}
                >
                  {t('detail.editReplay')}
                </button>
                <button type="button" className="ph-button" onClick={() => void copyCurl()}>
                  {t('detail.copyCurl')}
                </button>
              </>
            ) : null}
            <button type="button" className="ph-button" onClick={() => void exportHar()}>
              {t('detail.exportHar')}
            </button>
          </div>
          {http && notReplayable ? (
            <p id={reasonId} className="ph-note">
              {t('detail.notReplayable', { size: formatBytes(detail.requestBody.size, i18n.language) })}
            </p>
          ) : null}
          {editing ? (
            <EditReplayForm
              detail={detail}
              onCancel={() => setEditing(false)}
              onSend={(edit) => void sendReplay(edit)}
            />
          ) : (
            <Tabs<DetailTab> label={t('detail.tabs')} tabs={tabs} active={tab} onChange={setTab}>
              {tab === 'overview' && kind === 'websocket' ? (
                <WebSocketOverview detail={detail} publicUrl={publicUrl} />
              ) : null}
              {tab === 'overview' && kind !== 'websocket' ? <Overview detail={detail} publicUrl={publicUrl} /> : null}
              {tab === 'request' ? (
                <>
                  <h3>{t('detail.requestHeaders')}</h3>
                  <HeadersTable headers={detail.requestHeaders} label={t('detail.requestHeaders')} />
                  {http ? (
                    <>
                      <h3>{t('detail.requestBody')}</h3>
                      <BodyViewer
                        body={detail.requestBody}
                        headers={detail.requestHeaders}
                        label={t('detail.requestBody')}
                      />
                    </>
                  ) : null}
                </>
              ) : null}
              {tab === 'response' ? (
                <>
                  <h3>{t('detail.responseHeaders')}</h3>
                  <HeadersTable headers={detail.responseHeaders} label={t('detail.responseHeaders')} />
                  {http ? (
                    <>
                      <h3>{t('detail.responseBody')}</h3>
                      <BodyViewer
                        body={detail.responseBody}
                        headers={detail.responseHeaders}
                        label={t('detail.responseBody')}
                      />
                    </>
                  ) : null}
                </>
              ) : null}
              {tab === 'replay' && replay ? <Comparison original={detail} replay={replay} /> : null}
            </Tabs>
          )}
        </>
      )}
    </>
  );
}

function Overview({ detail, publicUrl }: { detail: RequestDetail; publicUrl: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const total = detail.durationMs;
  const wait = detail.upstreamMs;
  const receive = total !== null && wait !== null ? Math.max(0, total - wait) : null;
  let fullUrl = detail.url;
  try {
    fullUrl = new URL(detail.url, publicUrl).href;
  } catch {
    // Keep the path as it came.
  }
  const rows: Array<[string, string]> = [
    [t('detail.url'), displayPath(fullUrl)],
    [t('detail.started'), formatDateTime(detail.startedAt, lang)],
    [t('detail.duration'), total === null ? t('requests.inFlight') : formatDuration(total, lang)],
    [t('detail.waiting'), wait === null ? t('detail.none') : formatDuration(wait, lang)],
    [t('detail.receiving'), receive === null ? t('detail.none') : formatDuration(receive, lang)],
    [t('detail.visitor'), detail.visitorIp],
    [t('detail.requestSize'), formatBytes(detail.requestBytes, lang)],
    [t('detail.responseSize'), formatBytes(detail.responseBytes, lang)],
    [t('detail.relayId'), detail.relayId],
  ];
  if (detail.refusedBy) rows.push([t('detail.refusedBy'), t(`detail.refused.${detail.refusedBy}`)]);
  if (detail.error) rows.push([t('detail.error'), detail.error]);
  if (detail.replayOf) rows.push([t('detail.replayOf'), detail.replayOf]);
  const waitPct = total && wait !== null ? Math.min(100, (wait / total) * 100) : 0;
  return (
    <>
      <Facts rows={rows} />
      {total !== null && total > 0 && wait !== null ? (
        <div
          className="ph-timing"
          role="img"
          aria-label={t('detail.timingLabel', {
            wait: formatDuration(wait, lang),
            receive: formatDuration(receive ?? 0, lang),
          })}
        >
          <span className="ph-timing-wait" style={{ width: `${waitPct}%` }} />
          <span className="ph-timing-receive" style={{ width: `${100 - waitPct}%` }} />
        </div>
      ) : null}
    </>
  );
}

function Facts({ rows }: { rows: Array<[string, string]> }) {
  return (
    <dl className="ph-facts">
      {rows.map(([k, v]) => (
        <div key={k} className="ph-fact">
          <dt>{k}</dt>
          <dd className="ph-break">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The session's address as the visitor's browser had it: `ws://` or `wss://`. */
function webSocketUrl(path: string, publicUrl: string): string {
  try {
    const url = new URL(path, publicUrl);
    if (url.protocol === 'http:' || url.protocol === 'https:') url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
    return url.href;
  } catch {
    return path;
  }
}

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

/** A message's preview: text as text, a close message as its code and reason, anything else in hex. */
function messagePreview(m: WsMessageView): string {
  const bytes = decodeBase64(m.base64);
  const more = m.truncated ? '…' : '';
  if (m.kind === 'close') {
    if (bytes.length < 2) return '';
    const code = (bytes[0]! << 8) | bytes[1]!;
    const reason = bytes.subarray(2);
    const text = asText(reason, m.truncated);
    return [String(code), text ?? hex(reason)].filter(Boolean).join(' ') + (reason.length ? more : '');
  }
  if (m.kind === 'text') {
    const text = asText(bytes, m.truncated);
    if (text !== null) return text + more;
  }
  return hex(bytes) + more;
}

function WebSocketOverview({ detail, publicUrl }: { detail: RequestDetail; publicUrl: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const ws = detail.websocket;
  const rows: Array<[string, string]> = [
    [t('detail.url'), displayPath(webSocketUrl(detail.url, publicUrl))],
    [t('detail.ws.opened'), formatDateTime(detail.startedAt, lang)],
    [
      t('detail.ws.closed'),
      detail.durationMs === null
        ? t('detail.ws.stillOpen')
        : t('detail.ws.closedAfter', { duration: formatDuration(detail.durationMs, lang) }),
    ],
    [t('detail.ws.handshake'), detail.upstreamMs === null ? t('detail.none') : formatDuration(detail.upstreamMs, lang)],
    [t('detail.visitor'), detail.visitorIp],
    [t('detail.relayId'), detail.relayId],
  ];
  if (detail.error) rows.push([t('detail.error'), detail.error]);
  const code = (c: number | null): string => (c === null ? t('detail.none') : String(c));
  return (
    <>
      <Facts rows={rows} />
      {ws ? (
        <>
          <table className="ph-table ph-ws-traffic">
            <caption>{t('detail.ws.traffic')}</caption>
            <thead>
              <tr>
                <td />
                <th scope="col">{t('detail.ws.fromVisitor')}</th>
                <th scope="col">{t('detail.ws.fromUpstream')}</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">{t('detail.ws.messages')}</th>
                <td className="ph-num">{formatCount(ws.fromVisitor.messages, lang)}</td>
                <td className="ph-num">{formatCount(ws.fromUpstream.messages, lang)}</td>
              </tr>
              <tr>
                <th scope="row">{t('detail.ws.bytes')}</th>
                <td className="ph-num">{formatBytes(ws.fromVisitor.bytes, lang)}</td>
                <td className="ph-num">{formatBytes(ws.fromUpstream.bytes, lang)}</td>
              </tr>
              <tr>
                <th scope="row">{t('detail.ws.closeCode')}</th>
                <td className="ph-num">{code(ws.fromVisitor.closeCode)}</td>
                <td className="ph-num">{code(ws.fromUpstream.closeCode)}</td>
              </tr>
            </tbody>
          </table>
          {ws.last.length === 0 ? (
            <p className="ph-muted">{t('detail.ws.noMessages')}</p>
          ) : (
            <table className="ph-table ph-ws-messages">
              <caption>{t('detail.ws.last')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('detail.ws.direction')}</th>
                  <th scope="col">{t('detail.ws.kind')}</th>
                  <th scope="col" className="ph-num">
                    {t('detail.ws.size')}
                  </th>
                  <th scope="col">{t('detail.ws.preview')}</th>
                </tr>
              </thead>
              <tbody>
                {ws.last.map((m, i) => (
                  <tr key={i} className={m.from === 'visitor' ? 'ph-ws-out' : 'ph-ws-in'}>
                    <td className="ph-ws-direction">
                      {t(m.from === 'visitor' ? 'detail.ws.toUpstream' : 'detail.ws.toVisitor')}
                    </td>
                    <td>{t(`detail.ws.kinds.${m.kind}`)}</td>
                    <td className="ph-num">{formatBytes(m.size, lang)}</td>
                    <td className="ph-mono ph-break">{messagePreview(m)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </>
  );
}

function TcpOverview({ detail }: { detail: RequestDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  // The record's URL is the local service (host:port) the connection was joined to.
  const rows: Array<[string, string]> = [
    [t('detail.tcp.target'), detail.url],
    [t('detail.ws.opened'), formatDateTime(detail.startedAt, lang)],
    [
      t('detail.tcp.openFor'),
      detail.durationMs === null ? t('detail.ws.stillOpen') : formatDuration(detail.durationMs, lang),
    ],
    [t('detail.tcp.received'), formatBytes(detail.requestBytes, lang)],
    [t('detail.tcp.sent'), formatBytes(detail.responseBytes, lang)],
    [t('detail.visitor'), detail.visitorIp],
  ];
  if (detail.refusedBy) rows.push([t('detail.refusedBy'), t(`detail.refused.${detail.refusedBy}`)]);
  if (detail.error) rows.push([t('detail.error'), detail.error]);
  return <Facts rows={rows} />;
}

function ResponseColumn({
  title,
  summary,
  detail,
}: {
  title: string;
  summary: RequestSummaryView;
  detail: RequestDetail | null;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <section className="ph-compare-column" aria-label={title}>
      <h3>{title}</h3>
      <p className="ph-compare-line">
        <StatusCode status={summary.status} />
        <span>{summary.durationMs === null ? t('requests.inFlight') : formatDuration(summary.durationMs, lang)}</span>
        <span>{formatBytes(summary.responseBytes, lang)}</span>
      </p>
      {summary.error ? <p className="ph-note">{summary.error}</p> : null}
      {detail ? (
        <>
          <HeadersTable headers={detail.responseHeaders} label={t('detail.responseHeadersOf', { which: title })} />
          <BodyViewer
            body={detail.responseBody}
            headers={detail.responseHeaders}
            label={t('detail.responseBodyOf', { which: title })}
          />
        </>
      ) : (
        <p className="ph-muted">{t('detail.replayGone')}</p>
      )}
    </section>
  );
}

function Comparison({ original, replay }: { original: RequestDetail; replay: Replay }) {
  const { t } = useTranslation();
  return (
    <div className="ph-compare">
      <ResponseColumn title={t('detail.originalResponse')} summary={original} detail={original} />
      {replay.status === 'sending' ? (
        <section className="ph-compare-column" aria-label={t('detail.replayResponse')} aria-busy="true">
          <h3>{t('detail.replayResponse')}</h3>
          <p className="ph-muted">{t('detail.replaying')}</p>
        </section>
      ) : null}
      {replay.status === 'failed' ? (
        <section className="ph-compare-column" aria-label={t('detail.replayResponse')}>
          <h3>{t('detail.replayResponse')}</h3>
          <p className="ph-error" role="alert">
            {t('errors.replay')} <span className="ph-notice-detail">{replay.message}</span>
          </p>
        </section>
      ) : null}
      {replay.status === 'done' ? (
        <ResponseColumn title={t('detail.replayResponse')} summary={replay.summary} detail={replay.detail} />
      ) : null}
    </div>
  );
}
