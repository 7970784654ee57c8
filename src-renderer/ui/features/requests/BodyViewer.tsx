// A body by its kind: JSON as a foldable tree, form fields and multipart parts as tables, text as
// text, images as images, anything else as a hex dump; with the real size, and a note when the
// engine kept only the first bytes.
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BodyView } from '../../../../src-main/ipc/contract.ts';
import { JsonTree } from '../../components/JsonTree.tsx';
import {
  asText,
  classify,
  decodeBase64,
  headerValue,
  hexDump,
  mediaType,
  parseForm,
  parseJson,
  parseMultipart,
  type HeaderPairs,
} from '../../lib/body.ts';
import { formatBytes } from '../../lib/format.ts';

export interface BodyViewerProps {
  body: BodyView;
  headers: HeaderPairs;
  /** "Request body" / "Response body", for the region's name. */
  label: string;
}

export function BodyViewer({ body, headers, label }: BodyViewerProps) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [raw, setRaw] = useState(false);
  const contentType = headerValue(headers, 'content-type');
  const contentEncoding = headerValue(headers, 'content-encoding');
  const bytes = useMemo(() => decodeBase64(body.base64), [body.base64]);
  const kind = useMemo(
    () => (body.size === 0 ? 'empty' : classify(contentType, contentEncoding, bytes, body.truncated)),
    [body.size, body.truncated, bytes, contentType, contentEncoding],
  );
  const text = useMemo(
    () => (kind === 'json' || kind === 'text' || kind === 'form' ? (asText(bytes, body.truncated) ?? '') : ''),
    [kind, bytes, body.truncated],
  );

  if (kind === 'empty') {
    return (
      <section className="ph-body" aria-label={label}>
        <p className="ph-muted">{t('body.empty')}</p>
      </section>
    );
  }

  const { essence, params } = mediaType(contentType);
  let content;
  switch (kind) {
    case 'json':
      content = raw ? (
        <pre className="ph-pre">{text}</pre>
      ) : (
        <JsonTree value={parseJson(text)} label={t('body.jsonTree')} />
      );
      break;
    case 'form': {
      const fields = parseForm(text);
      content = raw ? (
        <pre className="ph-pre">{text}</pre>
      ) : (
        <table className="ph-table" aria-label={t('body.formFields')}>
          <thead>
            <tr>
              <th scope="col">{t('body.fieldName')}</th>
              <th scope="col">{t('body.fieldValue')}</th>
            </tr>
          </thead>
          <tbody>
            {fields.map(([name, value], i) => (
              <tr key={i}>
                <td className="ph-mono">{name}</td>
                <td className="ph-mono ph-break">{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      );
      break;
    }
    case 'multipart': {
      const parts = params['boundary'] ? parseMultipart(bytes, params['boundary']) : [];
      content = (
        <table className="ph-table" aria-label={t('body.parts')}>
          <thead>
            <tr>
              <th scope="col">{t('body.fieldName')}</th>
              <th scope="col">{t('body.partFile')}</th>
              <th scope="col">{t('body.partType')}</th>
              <th scope="col">{t('body.size')}</th>
              <th scope="col">{t('body.fieldValue')}</th>
            </tr>
          </thead>
          <tbody>
            {parts.map((p, i) => (
              <tr key={i}>
                <td className="ph-mono">{p.name ?? ''}</td>
                <td className="ph-mono">{p.filename ?? ''}</td>
                <td className="ph-mono">{p.contentType ?? ''}</td>
                <td>{formatBytes(p.size, lang)}</td>
                <td className="ph-mono ph-break">{p.text ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      );
      break;
    }
    case 'text':
      content = <pre className="ph-pre">{text}</pre>;
      break;
    case 'image':
      content = (
        <img
          className="ph-image-preview"
          src={`data:${essence || 'application/octet-stream'};base64,${body.base64}`}
          alt={t('body.imageAlt', { type: essence, size: formatBytes(body.size, lang) })}
        />
      );
      break;
    case 'binary':
      content = (
        <>
          {contentEncoding && contentEncoding.toLowerCase() !== 'identity' ? (
            <p className="ph-muted">{t('body.compressed', { encoding: contentEncoding })}</p>
          ) : null}
          <pre className="ph-pre ph-hex" aria-label={t('body.hexDump')}>
            {hexDump(bytes)}
          </pre>
        </>
      );
      break;
  }

  const canToggleRaw = kind === 'json' || kind === 'form';
  return (
    <section className="ph-body" aria-label={label}>
      <div className="ph-body-bar">
        <span className="ph-chip">{t(`body.kind.${kind}`)}</span>
        {essence ? <span className="ph-mono ph-muted">{essence}</span> : null}
        <span>{t('body.realSize', { size: formatBytes(body.size, lang) })}</span>
        {canToggleRaw ? (
          <button
            type="button"
            className="ph-button ph-button-small"
            aria-pressed={raw}
            onClick={() => setRaw((r) => !r)}
          >
            {t('body.raw')}
          </button>
        ) : null}
      </div>
      {body.truncated ? (
        <p className="ph-note" role="note">
          {t('body.cut', { shown: formatBytes(bytes.length, lang), size: formatBytes(body.size, lang) })}
        </p>
      ) : null}
      {content}
    </section>
  );
}
