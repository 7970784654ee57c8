// Edit and replay: method, path, headers and body of a logged request, sent to the upstream again.
// Only what was changed travels in the edit; the engine keeps the rest.
import { useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { RequestDetail } from '../../../../src-main/ipc/contract.ts';
import { asText, decodeBase64, encodeBase64 } from '../../lib/body.ts';
import type { ReplayEdit } from './RequestDetailPanel.tsx';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** `Name: value` lines as header pairs, or the number of the first line that is not one. */
export function parseHeaderLines(
  text: string,
): { ok: true; headers: Array<[string, string]> } | { ok: false; line: number } {
  const headers: Array<[string, string]> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!TOKEN.test(name)) return { ok: false, line: i + 1 };
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { ok: true, headers };
}

export interface EditReplayFormProps {
  detail: RequestDetail;
  onSend(edit: ReplayEdit): void;
  onCancel(): void;
}

export function EditReplayForm({ detail, onSend, onCancel }: EditReplayFormProps) {
  const { t } = useTranslation();
  const ids = useId();
  const initialHeaders = useMemo(() => detail.requestHeaders.map(([k, v]) => `${k}: ${v}`).join('\n'), [detail]);
  const originalText = useMemo(() => {
    if (detail.requestBody.truncated || !detail.replayable) return null;
    return asText(decodeBase64(detail.requestBody.base64));
  }, [detail]);
  // A text body kept whole is edited in place; any other body is kept unless replaced.
  const bodyEditable = originalText !== null;
  const [method, setMethod] = useState(detail.method);
  const [path, setPath] = useState(detail.url);
  const [headers, setHeaders] = useState(initialHeaders);
  const [replaceBody, setReplaceBody] = useState(bodyEditable);
  const [body, setBody] = useState(originalText ?? '');
  const [submitted, setSubmitted] = useState(false);

  const methodOk = TOKEN.test(method.trim()) && method.trim().length <= 32;
  const pathOk = path.startsWith('/');
  const parsedHeaders = parseHeaderLines(headers);
  const bodyMissing = !detail.replayable && !replaceBody;
  const valid = methodOk && pathOk && parsedHeaders.ok && !bodyMissing;

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setSubmitted(true);
    if (!valid || !parsedHeaders.ok) return;
    const edit: ReplayEdit = {};
    const m = method.trim().toUpperCase();
    if (m !== detail.method.toUpperCase()) edit.method = m;
    if (path !== detail.url) edit.path = path;
    if (headers !== initialHeaders) edit.headers = parsedHeaders.headers;
    if (replaceBody && (!bodyEditable || body !== originalText)) {
      edit.bodyBase64 = encodeBase64(new TextEncoder().encode(body));
    }
    onSend(edit);
  };

  const show = (ok: boolean): boolean => submitted && !ok;
  return (
    <form className="ph-form ph-edit-replay" aria-label={t('edit.label')} onSubmit={submit} noValidate>
      <div className="ph-field-row">
        <div className="ph-field ph-field-narrow">
          <label htmlFor={`${ids}-method`}>{t('edit.method')}</label>
          <input
            id={`${ids}-method`}
            list={`${ids}-methods`}
            value={method}
            aria-invalid={show(methodOk)}
            aria-describedby={show(methodOk) ? `${ids}-method-error` : undefined}
            onChange={(e) => setMethod(e.target.value)}
          />
          <datalist id={`${ids}-methods`}>
            {METHODS.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
          {show(methodOk) ? (
            <p id={`${ids}-method-error`} className="ph-field-error">
              {t('edit.methodInvalid')}
            </p>
          ) : null}
        </div>
        <div className="ph-field ph-field-grow">
          <label htmlFor={`${ids}-path`}>{t('edit.path')}</label>
          <input
            id={`${ids}-path`}
            className="ph-mono"
            value={path}
            aria-invalid={show(pathOk)}
            aria-describedby={show(pathOk) ? `${ids}-path-error` : undefined}
            onChange={(e) => setPath(e.target.value)}
          />
          {show(pathOk) ? (
            <p id={`${ids}-path-error`} className="ph-field-error">
              {t('edit.pathInvalid')}
            </p>
          ) : null}
        </div>
      </div>
      <div className="ph-field">
        <label htmlFor={`${ids}-headers`}>{t('edit.headers')}</label>
        <textarea
          id={`${ids}-headers`}
          className="ph-mono"
          rows={Math.min(12, Math.max(3, detail.requestHeaders.length + 1))}
          value={headers}
          aria-invalid={show(parsedHeaders.ok)}
          aria-describedby={`${ids}-headers-hint${show(parsedHeaders.ok) ? ` ${ids}-headers-error` : ''}`}
          onChange={(e) => setHeaders(e.target.value)}
        />
        <p id={`${ids}-headers-hint`} className="ph-hint">
          {t('edit.headersHint')}
        </p>
        {!parsedHeaders.ok && submitted ? (
          <p id={`${ids}-headers-error`} className="ph-field-error">
            {t('edit.headerLineInvalid', { line: parsedHeaders.line })}
          </p>
        ) : null}
      </div>
      {!bodyEditable ? (
        <label className="ph-check">
          <input type="checkbox" checked={replaceBody} onChange={(e) => setReplaceBody(e.target.checked)} />
          {t('edit.replaceBody')}
        </label>
      ) : null}
      {!bodyEditable && !replaceBody ? (
        <p className={submitted && bodyMissing ? 'ph-field-error' : 'ph-hint'}>
          {detail.replayable ? t('edit.bodyKept') : t('edit.bodyNotKept')}
        </p>
      ) : (
        <div className="ph-field">
          <label htmlFor={`${ids}-body`}>{t('edit.body')}</label>
          <textarea
            id={`${ids}-body`}
            className="ph-mono"
            rows={8}
            value={body}
            onChange={(e) => setBody(e.target.value)}
          />
        </div>
      )}
      <div className="ph-actions">
        <button type="submit" className="ph-button ph-button-primary">
          {t('edit.send')}
        </button>
        <button type="button" className="ph-button" onClick={onCancel}>
          {t('edit.cancel')}
        </button>
      </div>
    </form>
  );
}
