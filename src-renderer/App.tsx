/** What the Electron preload reports about the app; absent when the UI is served to a browser. */
export interface AppInfo {
  name: string;
  platform: string;
  versions: { electron: string; chrome: string; node: string };
}

export interface AppProps {
  info?: AppInfo | undefined;
}

export function App({ info }: AppProps) {
  return (
    <main>
      <h1>Porthole</h1>
      <p>
        The tunnel list and the request inspector arrive with the renderer work. Until then, run{' '}
        <code>porthole demo</code> in a terminal to watch a tunnel at work.
      </p>
      {info && (
        <p>
          <small>
            Electron {info.versions.electron} on {info.platform}
          </small>
        </p>
      )}
    </main>
  );
}
