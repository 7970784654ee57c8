// JSON as a tree of <details> elements: folded and unfolded by mouse or keyboard with no script of
// ours, and found by the browser's search when folded (Chromium opens a matching <details>).
import { useTranslation } from 'react-i18next';

/** Levels unfolded at first; deeper ones start folded. */
const OPEN_DEPTH = 2;

function Primitive({ value }: { value: unknown }) {
  if (value === null) return <span className="ph-json-null">null</span>;
  if (typeof value === 'string') return <span className="ph-json-string">{JSON.stringify(value)}</span>;
  if (typeof value === 'number') return <span className="ph-json-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="ph-json-boolean">{String(value)}</span>;
  return <span>{String(value)}</span>;
}

function Node({ name, value, depth, last }: { name: string | null; value: unknown; depth: number; last: boolean }) {
  const { t } = useTranslation();
  const key = name === null ? null : <span className="ph-json-key">{name}: </span>;
  const comma = last ? '' : ',';
  if (value === null || typeof value !== 'object') {
    return (
      <div className="ph-json-line">
        {key}
        <Primitive value={value} />
        {comma}
      </div>
    );
  }
  const isArray = Array.isArray(value);
  const entries: Array<[string, unknown]> = isArray
    ? value.map((v, i): [string, unknown] => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    return (
      <div className="ph-json-line">
        {key}
        {open}
        {close}
        {comma}
      </div>
    );
  }
  const summary = isArray
    ? t('body.jsonItems', { count: entries.length })
    : t('body.jsonKeys', { count: entries.length });
  return (
    <details className="ph-json-node" open={depth < OPEN_DEPTH}>
      <summary>
        {key}
        {open}
        <span className="ph-json-summary">
          {' '}
          {summary} {close}
          {comma}
        </span>
      </summary>
      <div className="ph-json-children">
        {entries.map(([k, v], i) => (
          <Node
            key={k}
            name={isArray ? null : JSON.stringify(k)}
            value={v}
            depth={depth + 1}
            last={i === entries.length - 1}
          />
        ))}
      </div>
      <div className="ph-json-line ph-json-close">
        {close}
        {comma}
      </div>
    </details>
  );
}

export function JsonTree({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="ph-json" role="group" aria-label={label}>
      <Node name={null} value={value} depth={0} last />
    </div>
  );
}
