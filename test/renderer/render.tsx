// Mounting the UI in jsdom: layout sizes for the virtualized list (jsdom lays nothing out), and the
// UI with a fake bridge.
import { render, type RenderResult } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { PortholeUI } from '../../src-renderer/ui/PortholeUI.tsx';
import type { FakeBridge } from './fake-bridge.ts';

let sized = false;

/** jsdom has no layout: give elements a size so that the virtualizer shows rows. */
function giveElementsASize(): void {
  if (sized) return;
  sized = true;
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 900 });
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1200 });
}

export function renderUI(bridge: FakeBridge): RenderResult & { user: ReturnType<typeof userEvent.setup> } {
  giveElementsASize();
  const user = userEvent.setup();
  // A long refresh: the tests push what they need and do not wait for the counters' timer.
  return { user, ...render(<PortholeUI bridge={bridge} refreshMs={3_600_000} />) };
}
