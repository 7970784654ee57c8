// Desktop notifications when a tunnel comes online, drops or fails (a setting, on by default). Which
// change deserves one is a pure function of the previous and next phase; the Notifier remembers the
// phases and asks the settings before it shows anything.
import type { Language, TunnelPhaseState, TunnelView } from '../ipc/contract.ts';
import { STRINGS } from './i18n.ts';

/** What a notification says. */
export interface NotificationText {
  title: string;
  body: string;
}

/**
 * The notification for a phase change, or null: online (or back online after a drop), dropped (the
 * first retry after being online, not every retry), failed.
 */
export function notificationFor(
  prev: TunnelPhaseState | undefined,
  view: TunnelView,
  language: Language,
): NotificationText | null {
  const s = STRINGS[language].notify;
  const next = view.state;
  const was = prev?.phase;
  if (next.phase === 'online' && was !== 'online') {
    return { title: was === 'reconnecting' ? s.backOnline(view.name) : s.online(view.name), body: next.publicUrl };
  }
  if (next.phase === 'reconnecting' && was === 'online') {
    return { title: s.dropped(view.name), body: s.droppedBody(next.lastError) };
  }
  if (next.phase === 'failed' && was !== 'failed') {
    return { title: s.failed(view.name), body: next.reason };
  }
  return null;
}

export interface NotifierOptions {
  /** Whether notifications are on, and in which language, now. */
  settings: () => { notifications: boolean; language: Language };
  /** Shows one (Electron's Notification in the app). */
  show: (text: NotificationText) => void;
}

/** Follows tunnel status events and notifies the changes that matter. */
export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #last = new Map<string, TunnelPhaseState>();

  constructor(opts: NotifierOptions) {
    this.#opts = opts;
  }

  /** Call with every `tunnels:status-changed` view. */
  onStatus(view: TunnelView): void {
    const prev = this.#last.get(view.id);
    this.#last.set(view.id, view.state);
    const { notifications, language } = this.#opts.settings();
    if (!notifications) return;
    const text = notificationFor(prev, view, language);
    if (text) this.#opts.show(text);
  }

  /** Forgets tunnels that are gone. */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    for (const id of this.#last.keys()) if (!keep.has(id)) this.#last.delete(id);
  }
}
