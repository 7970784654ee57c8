import { describe, expect, it } from 'vitest';
import { Notifier, notificationFor, type NotificationText } from '../../src-main/app/notifications.ts';
import type { TunnelPhaseState } from '../../src-main/ipc/contract.ts';
import { PHASES, view } from './helpers.ts';

const [stopped, starting, online, reconnecting, failed] = PHASES as [
  TunnelPhaseState,
  TunnelPhaseState,
  TunnelPhaseState,
  TunnelPhaseState,
  TunnelPhaseState,
];

describe('notifications', () => {
  it('come for online, back online, dropped and failed, nothing else', () => {
    const v = (s: TunnelPhaseState) => view('blog', s, 'Blog');
    expect(notificationFor(starting, v(online), 'en')).toEqual({
      title: 'Blog is online',
      body: 'http://blog-words.localhost:4040/',
    });
    expect(notificationFor(reconnecting, v(online), 'en')?.title).toBe('Blog is back online');
    expect(notificationFor(online, v(reconnecting), 'en')).toEqual({
      title: 'Blog lost its relay',
      body: 'connect ECONNREFUSED 127.0.0.1:9. Reconnecting…',
    });
    expect(notificationFor(starting, v(failed), 'en')).toEqual({
      title: 'Blog failed',
      body: 'the relay refused the claim: host taken',
    });
    expect(notificationFor(starting, v(failed), 'zh-CN')?.title).toBe('Blog 失败');
    // Each retry is not news, nor is starting or stopping.
    expect(notificationFor(reconnecting, v(reconnecting), 'en')).toBeNull();
    expect(notificationFor(stopped, v(starting), 'en')).toBeNull();
    expect(notificationFor(online, v(stopped), 'en')).toBeNull();
    expect(notificationFor(online, v(online), 'en')).toBeNull();
  });

  it('follow the setting', () => {
    const shown: NotificationText[] = [];
    let on = true;
    const n = new Notifier({ settings: () => ({ notifications: on, language: 'en' }), show: (t) => shown.push(t) });
    n.onStatus(view('a', starting));
    n.onStatus(view('a', online));
    on = false;
    n.onStatus(view('a', reconnecting));
    on = true;
    n.onStatus(view('a', online));
    expect(shown.map((s) => s.title)).toEqual(['a is online', 'a is back online']);
  });
});
