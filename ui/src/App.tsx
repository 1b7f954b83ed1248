// The console's frame: brand, connection status, one tab per screen (screens/index.ts), the offline
// banner and the screen the hash route names. The frame owns the window's one live subscription
// (lib/live.tsx), which the banner and the dashboard share; it polls the overview for the status dot.
import { useMemo } from "react";
import { createApi, type Api } from "./api";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { LiveProvider, useLive } from "./lib/live";
import { offlineNotice } from "./lib/liveSeries";
import { useOverview } from "./lib/useOverview";
import { useRoute } from "./lib/useRoute";
import { screens } from "./screens";

const time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function App({ api }: { api?: Api }) {
  const client = useMemo(() => api ?? createApi(), [api]);
  const { data, error, updatedAt } = useOverview(client);
  const keys = useMemo(() => Object.fromEntries(screens.map((s) => [s.key, s.path])), []);
  const path = useRoute(keys);
  const screen = screens.find((s) => s.path === path) ?? screens[0]!;
  const Screen = screen.component;

  const status = error ? "offline" : data ? "live" : "connecting";
  return (
    <LiveProvider api={client}>
      <div className="app">
        <header className="topbar">
          <img className="mark" src="/mark.svg" alt="" width={36} height={36} />
          <div className="brand">
            <h1>{data?.product ?? "CreatorFlow Console"}</h1>
            <p className="tagline">TikTok Shop order pipeline</p>
          </div>
          <nav className="tabs" aria-label="Screens">
            {screens.map((s) => (
              <a
                key={s.path}
                href={`#/${s.path}`}
                className={s === screen ? "tab tab-active" : "tab"}
                aria-current={s === screen ? "page" : undefined}
                title={`${s.title} (g then ${s.key})`}
              >
                {s.title}
              </a>
            ))}
          </nav>
          <div className={`status status-${status}`}>
            <span className="dot" aria-hidden="true" />
            {/* Only the state word is live: a timestamp changing every second would flood screen readers. */}
            <span role="status">{status === "live" ? "Live" : status === "offline" ? "Offline" : "Connecting…"}</span>
            {updatedAt && <span className="updated">updated {time.format(updatedAt)}</span>}
          </div>
        </header>

        <OfflineBanner />
        <main className="content" aria-label={screen.title}>
          <ErrorBoundary resetKey={screen.path}>
            <Screen api={client} />
          </ErrorBoundary>
        </main>
      </div>
    </LiveProvider>
  );
}

/** Shown on every screen while a remote host does not answer, with the waiting backlog. */
export function OfflineBanner() {
  const { snapshot } = useLive();
  const notice = offlineNotice(snapshot);
  if (!notice) return null;
  return (
    <div className="banner banner-offline" role="alert">
      {notice}
    </div>
  );
}
