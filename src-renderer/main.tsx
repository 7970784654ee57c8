import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, type AppInfo } from './App.tsx';

declare global {
  interface Window {
    /** Exposed by src-main/preload; undefined when the UI runs in a plain browser. */
    api?: { appInfo(): AppInfo };
  }
}

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

// Read once at start, not during render: the bridge is never called from a component body.
const info = window.api?.appInfo();

createRoot(container).render(
  <StrictMode>
    <App info={info} />
  </StrictMode>,
);
