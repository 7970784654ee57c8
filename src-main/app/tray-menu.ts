// The tray's menu, tooltip and icon as pure functions of the state, so that every case is tested
// without Electron; TrayController turns the result into a native menu.
import type { AggregateStatus, Language, TunnelView } from '../ipc/contract.ts';
import { STRINGS } from './i18n.ts';

/** What the tray shows. */
export interface TrayState {
  tunnels: readonly TunnelView[];
  aggregate: AggregateStatus;
  launchAtLogin: boolean;
  language: Language;
}

/** What a click on a menu item asks for. */
export type TrayAction =
  | { type: 'start'; id: string }
  | { type: 'stop'; id: string }
  | { type: 'copy-url'; url: string }
  | { type: 'open' }
  | { type: 'start-all' }
  | { type: 'stop-all' }
  | { type: 'launch-at-login'; enabled: boolean }
  | { type: 'quit' };

/** One menu item, before it becomes a native one. */
export interface TrayMenuItem {
  type: 'normal' | 'checkbox' | 'separator';
  label?: string;
  /** Shown under the label where the platform can (macOS). */
  sublabel?: string;
  checked?: boolean;
  enabled?: boolean;
  action?: TrayAction;
}

/** A tunnel counts as running (its checkbox ticked) from the moment it starts until it stops or fails. */
export function isRunning(t: TunnelView): boolean {
  return t.state.phase !== 'stopped' && t.state.phase !== 'failed';
}

const separator: TrayMenuItem = { type: 'separator' };

/** The menu: each tunnel with its checkbox and status, copy items for online tunnels, then the app's items. */
export function buildTrayMenu(state: TrayState): TrayMenuItem[] {
  const s = STRINGS[state.language];
  const items: TrayMenuItem[] = [];
  if (state.tunnels.length === 0) items.push({ type: 'normal', label: s.noTunnels, enabled: false });
  for (const t of state.tunnels) {
    const running = isRunning(t);
    items.push({
      type: 'checkbox',
      label: `${t.name} (${s.status(t.state)})`,
      sublabel: t.target,
      checked: running,
      action: running ? { type: 'stop', id: t.id } : { type: 'start', id: t.id },
    });
  }
  const online = state.tunnels.filter((t) => t.state.phase === 'online');
  if (online.length) {
    items.push(separator);
    for (const t of online) {
      const url = t.state.phase === 'online' ? t.state.publicUrl : t.publicUrl;
      items.push({
        type: 'normal',
        label: s.copyUrl(online.length === 1 ? null : t.name),
        sublabel: url,
        action: { type: 'copy-url', url },
      });
    }
  }
  items.push(separator, { type: 'normal', label: s.open, action: { type: 'open' } });
  if (state.tunnels.length) {
    items.push(
      {
        type: 'normal',
        label: s.startAll,
        enabled: state.tunnels.some((t) => !isRunning(t)),
        action: { type: 'start-all' },
      },
      {
        type: 'normal',
        label: s.stopAll,
        enabled: state.tunnels.some(isRunning),
        action: { type: 'stop-all' },
      },
    );
  }
  items.push(
    separator,
    {
      type: 'checkbox',
      label: s.launchAtLogin,
      checked: state.launchAtLogin,
      action: { type: 'launch-at-login', enabled: !state.launchAtLogin },
    },
    { type: 'normal', label: s.quit, action: { type: 'quit' } },
  );
  return items;
}

/** The tooltip: how many tunnels are online (and failed). */
export function trayTooltip(state: TrayState): string {
  const online = state.tunnels.filter((t) => t.state.phase === 'online').length;
  const failed = state.tunnels.filter((t) => t.state.phase === 'failed').length;
  return STRINGS[state.language].tooltip(online, state.tunnels.length, failed);
}

/**
 * The icon file (in assets/) for an aggregate state: macOS gets its template image (drawn by the
 * system in the menu bar's colour); `@2x` files next to it are picked up by Electron on its own.
 */
export function trayIconFile(aggregate: AggregateStatus, platform: NodeJS.Platform): string {
  return `tray-${aggregate}${platform === 'darwin' ? 'Template' : ''}.png`;
}
