// The page's Content-Security-Policy, in a module of its own (no electron) so that the Vite config and
// the tests read the same text as the window code.

/**
 * The policy of the built page; src-renderer/index.html carries it in a meta tag (a file:// page has
 * no response headers), and a test checks that the two agree.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:*";

/**
 * In `npm run dev` only: Vite's React refresh preamble is an inline script, and hot reload talks over
 * a WebSocket to the dev server.
 */
export const DEV_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*";
