import { useTranslation } from 'react-i18next';
import type { HeaderPairs } from '../../lib/body.ts';

export function HeadersTable({ headers, label }: { headers: HeaderPairs; label: string }) {
  const { t } = useTranslation();
  if (headers.length === 0) return <p className="ph-muted">{t('detail.noHeaders')}</p>;
  return (
    <table className="ph-table ph-headers" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">{t('detail.headerName')}</th>
          <th scope="col">{t('detail.headerValue')}</th>
        </tr>
      </thead>
      <tbody>
        {headers.map(([name, value], i) => (
          <tr key={i}>
            <th scope="row" className="ph-mono">
              {name}
            </th>
            <td className="ph-mono ph-break">{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
