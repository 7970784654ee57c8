// The one place IPC handlers are registered. Every call is checked here before the service sees it:
// the sender must be the top-level frame of one of our windows, showing our own page, and the payload
// must pass its schema. Events go out through one broadcast() on one push channel.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { checkedCaller } from '../ipc/call.ts';
import {
  COMMAND_CHANNELS,
  PUSH_CHANNEL,
  SHELL_CHANNELS,
  fail,
  type CommandHandlers,
  type EventName,
  type EventPayloads,
  type PushMessage,
  type Result,
  type ShellHandlers,
} from '../ipc/contract.ts';
import { isOwnPage, type RendererSource } from './WindowFactory.ts';

/** Decides whether an IPC call comes from our own page. */
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;

/** The sender check: the top-level frame of one of our windows, showing our page. */
export function trustedSender(opts: { isOurs(contents: WebContents): boolean; source: RendererSource }): SenderCheck {
  return (event) => {
    const frame = event.senderFrame;
    // null when the frame navigated away or was destroyed before the call was handled.
    if (!frame || frame.isDestroyed() || frame.detached) return false;
    // Only the top-level frame: an iframe (even one of ours) never speaks for the app.
    if (frame.parent !== null) return false;
    if (!opts.isOurs(event.sender)) return false;
    return isOwnPage(frame.url, opts.source);
  };
}

/**
 * Registers a handler for every command and bridge capability; returns the function that removes
 * them. Nothing reaches a handler without passing the sender check and the contract's check.
 */
export function bindIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: CommandHandlers & ShellHandlers,
  isTrusted: SenderCheck,
  log: (line: string) => void = () => undefined,
): () => void {
  const call = checkedCaller(handlers, log);
  const channels = [...COMMAND_CHANNELS, ...SHELL_CHANNELS];
  for (const channel of channels) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<Result<unknown>> => {
      if (!isTrusted(event)) {
        log(`refused ${channel} from ${event.senderFrame?.url ?? 'a frame that is gone'}`);
        return fail('forbidden', "the call did not come from Porthole's own page");
      }
      if (args.length > 1) return fail('invalid-payload', `${channel} takes one payload`);
      return call(channel, args[0]);
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}

/** An event as it travels on the push channel. */
export function pushMessage<E extends EventName>(event: E, payload: EventPayloads[E]): PushMessage {
  return { event, payload } as PushMessage;
}

/** Pushes an event to every live window (destroyed ones are skipped); returns how many got it. */
export function broadcast(windows: Iterable<BrowserWindow>, message: PushMessage): number {
  let sent = 0;
  for (const w of windows) {
    if (w.isDestroyed() || w.webContents.isDestroyed()) continue;
    w.webContents.send(PUSH_CHANNEL, message);
    sent += 1;
  }
  return sent;
}
