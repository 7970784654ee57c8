import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { getBridge } from './bridge.ts';
import { NoBridge } from './ui/NoBridge.tsx';
import { PortholeUI } from './ui/PortholeUI.tsx';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

// Picked once, outside React: StrictMode renders twice and would open two sockets.
const picked = getBridge();

createRoot(container).render(
  <StrictMode>
    {picked ? (
      <PortholeUI bridge={picked.bridge} {...(picked.connection ? { connection: picked.connection } : {})} />
    ) : (
      <NoBridge />
    )}
  </StrictMode>,
);
