// A first, small UI over the bridge: the tunnel list with start/stop, copy and open, the offer of the
// public relay on the first run, and the clear-text secrets warning. The full tunnel list, request
// inspector and profile editor (zustand store, virtualized lists) replace it with the renderer work.
import { useEffect, useState } from 'react';
import type { AppInfo, Bridge, Language, Result, TunnelView } from '../src-main/ipc/contract.ts';

const TEXT = {
  en: {
    noBridge: 'This page talks to Porthole through its desktop app (or, later, its inspector server).',
    noTunnels: 'No tunnels yet.',
    start: 'Start',
    stop: 'Stop',
    copy: 'Copy URL',
    open: 'Open',
    clearSecrets:
      'This system has no keyring Porthole can use: relay tokens and passwords are stored unencrypted in its data file.',
    offer: 'Put a local service on the internet through the public FPW relay (a *.28820.com address):',
    target: 'Local service',
    add: 'Add tunnel',
    phase: {
      stopped: 'stopped',
      starting: 'connecting…',
      online: 'online',
      reconnecting: 'reconnecting',
      failed: 'failed',
    },
  },
  'zh-CN': {
    noBridge: '此页面通过 Porthole 桌面应用（或之后的检查服务器）与引擎通信。',
    noTunnels: '还没有隧道。',
    start: '启动',
    stop: '停止',
    copy: '复制地址',
    open: '打开',
    clearSecrets: '此系统没有 Porthole 可用的密钥环：中继令牌和密码以明文保存在数据文件中。',
    offer: '通过公共 FPW 中继（*.28820.com 地址）把本地服务发布到互联网：',
    target: '本地服务',
    add: '添加隧道',
    phase: { stopped: '已停止', starting: '连接中…', online: '在线', reconnecting: '重连中', failed: '失败' },
  },
} as const;

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

export interface AppProps {
  bridge: Bridge | null;
}

export function App({ bridge }: AppProps) {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [language, setLanguage] = useState<Language>('en');
  const [tunnels, setTunnels] = useState<TunnelView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [target, setTarget] = useState('http://127.0.0.1:3000');

  useEffect(() => {
    if (!bridge) return;
    const offs = [
      bridge.on('tunnels:changed', setTunnels),
      bridge.on('tunnels:status-changed', (t) => setTunnels((all) => all.map((x) => (x.id === t.id ? t : x)))),
      bridge.on('settings:changed', (s) => setLanguage(s.language)),
    ];
    void (async () => {
      try {
        setInfo(value(await bridge.app.info()));
        setLanguage(value(await bridge.settings.get()).language);
        setTunnels(value(await bridge.tunnels.list()));
      } catch (err) {
        setError((err as Error).message);
      }
    })();
    return () => offs.forEach((off) => off());
  }, [bridge]);

  const t = TEXT[language];
  if (!bridge) {
    return (
      <main>
        <h1>Porthole</h1>
        <p>{t.noBridge}</p>
      </main>
    );
  }

  const run = (p: Promise<Result<unknown>>): void => {
    void p.then((r) => setError(r.ok ? null : r.error.message));
  };

  return (
    <main>
      <h1>Porthole</h1>
      {info && !info.secrets.encrypted && <p role="alert">{t.clearSecrets}</p>}
      {error && <p role="alert">{error}</p>}
      {tunnels.length === 0 ? (
        <p>{t.noTunnels}</p>
      ) : (
        <ul aria-label="tunnels">
          {tunnels.map((tunnel) => {
            const running = tunnel.state.phase !== 'stopped' && tunnel.state.phase !== 'failed';
            const online = tunnel.state.phase === 'online';
            return (
              <li key={tunnel.id} data-phase={tunnel.state.phase}>
                <strong>{tunnel.name}</strong> <span>{t.phase[tunnel.state.phase]}</span>{' '}
                <code>{tunnel.publicUrl}</code> → <code>{tunnel.target}</code>{' '}
                <button
                  type="button"
                  aria-label={`${running ? t.stop : t.start} ${tunnel.name}`}
                  onClick={() =>
                    run(running ? bridge.tunnels.stop({ id: tunnel.id }) : bridge.tunnels.start({ id: tunnel.id }))
                  }
                >
                  {running ? t.stop : t.start}
                </button>
                {online && (
                  <>
                    <button
                      type="button"
                      aria-label={`${t.copy} ${tunnel.name}`}
                      onClick={() => run(bridge.copyText(tunnel.publicUrl))}
                    >
                      {t.copy}
                    </button>
                    <button
                      type="button"
                      aria-label={`${t.open} ${tunnel.name}`}
                      onClick={() => run(bridge.openExternal(tunnel.publicUrl))}
                    >
                      {t.open}
                    </button>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {info?.firstRun && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            run(bridge.profiles.createFromPreset({ preset: 'public-fpw', target }));
          }}
        >
          <p>{t.offer}</p>
          <label>
            {t.target} <input value={target} onChange={(e) => setTarget(e.target.value)} />
          </label>{' '}
          <button type="submit">{t.add}</button>
        </form>
      )}
      {info && (
        <p>
          <small>
            Porthole {info.version}
            {info.versions.electron ? ` · Electron ${info.versions.electron}` : ''} · {info.platform}
          </small>
        </p>
      )}
    </main>
  );
}
