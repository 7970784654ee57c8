/** Small HTML pages Porthole answers with itself (errors of the relay and of the worker). */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A page with a status, a title and one paragraph; returned as bytes, ready to send. */
export function errorPage(status: number, title: string, message: string, origin = 'Porthole'): Buffer {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${status} ${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}small{color:#777}</style></head>
<body><h1>${status} ${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><small>${escapeHtml(origin)}</small></p></body></html>
`;
  return Buffer.from(html, 'utf8');
}

export const HTML_TYPE = 'text/html; charset=utf-8';
