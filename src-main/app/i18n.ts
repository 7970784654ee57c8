// Words of the tray menu, its tooltip and the notifications, in each language of the settings.
import type { Language, TunnelPhaseState } from '../ipc/contract.ts';

/** Everything the shell says to a person. */
export interface ShellStrings {
  /** A tunnel's phase, in a word or three. */
  status(state: TunnelPhaseState): string;
  /** The tray's tooltip. */
  tooltip(online: number, total: number, failed: number): string;
  noTunnels: string;
  /** "Copy public URL" (one online tunnel) or "Copy public URL: name" (several). */
  copyUrl(name: string | null): string;
  open: string;
  startAll: string;
  stopAll: string;
  launchAtLogin: string;
  quit: string;
  notify: {
    online(name: string): string;
    backOnline(name: string): string;
    dropped(name: string): string;
    droppedBody(error: string): string;
    failed(name: string): string;
    hiddenTitle: string;
    hiddenBody: string;
  };
}

const en: ShellStrings = {
  status(s) {
    switch (s.phase) {
      case 'stopped':
        return 'stopped';
      case 'starting':
        return 'connecting…';
      case 'online':
        return 'online';
      case 'reconnecting':
        return `reconnecting (attempt ${s.attempt})`;
      case 'failed':
        return 'failed';
    }
  },
  tooltip(online, total, failed) {
    if (total === 0) return 'Porthole: no tunnels';
    const base = `Porthole: ${online} of ${total} ${total === 1 ? 'tunnel' : 'tunnels'} online`;
    return failed ? `${base}, ${failed} failed` : base;
  },
  noTunnels: 'No tunnels yet',
  copyUrl: (name) => (name === null ? 'Copy public URL' : `Copy public URL: ${name}`),
  open: 'Open Porthole',
  startAll: 'Start all',
  stopAll: 'Stop all',
  launchAtLogin: 'Launch at login',
  quit: 'Quit',
  notify: {
    online: (name) => `${name} is online`,
    backOnline: (name) => `${name} is back online`,
    dropped: (name) => `${name} lost its relay`,
    droppedBody: (error) => `${error}. Reconnecting…`,
    failed: (name) => `${name} failed`,
    hiddenTitle: 'Porthole is still running',
    hiddenBody: 'Your tunnels stay up. Open Porthole again from its tray icon, or by launching it again.',
  },
};

const zhCN: ShellStrings = {
  status(s) {
    switch (s.phase) {
      case 'stopped':
        return '已停止';
      case 'starting':
        return '连接中…';
      case 'online':
        return '在线';
      case 'reconnecting':
        return `重连中（第 ${s.attempt} 次）`;
      case 'failed':
        return '失败';
    }
  },
  tooltip(online, total, failed) {
    if (total === 0) return 'Porthole：没有隧道';
    const base = `Porthole：${total} 个隧道中 ${online} 个在线`;
    return failed ? `${base}，${failed} 个失败` : base;
  },
  noTunnels: '还没有隧道',
  copyUrl: (name) => (name === null ? '复制公网地址' : `复制公网地址：${name}`),
  open: '打开 Porthole',
  startAll: '全部启动',
  stopAll: '全部停止',
  launchAtLogin: '登录时启动',
  quit: '退出',
  notify: {
    online: (name) => `${name} 已上线`,
    backOnline: (name) => `${name} 已恢复在线`,
    dropped: (name) => `${name} 与中继断开`,
    droppedBody: (error) => `${error}。正在重连…`,
    failed: (name) => `${name} 失败`,
    hiddenTitle: 'Porthole 仍在运行',
    hiddenBody: '隧道保持在线。可从托盘图标再次打开 Porthole，或再次启动它。',
  },
};

/** The strings of each language. */
export const STRINGS: Readonly<Record<Language, ShellStrings>> = { en, 'zh-CN': zhCN };

/** The language to start with: Chinese where the system prefers it, else English. */
export function languageFor(preferred: readonly string[]): Language {
  return preferred[0]?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}
