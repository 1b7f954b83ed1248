// "Connect a shop" on the Shops screen: the OAuth code flow over several calls. The form starts a
// session (the engine opens a loopback listener); the person opens the link and authorizes; the
// redirect lands on the listener, or they paste the code / redirect URL (a browser on another
// machine than `serve`). The panel polls the session until it is connected, failed or cancelled.
import { useEffect, useState } from "react";
import type { Api, Transport } from "../api";
import { toApiError, type ApiError } from "../api/transport";
import type { ConnectSession } from "../bindings/ConnectSession";
import { ErrorNote } from "./ErrorNote";
import { connectRequest, emptyConnectForm, formatRemaining, type ConnectForm } from "../lib/shops";

const POLL_MS = 1000;

function Field({ label, children, hint }: { label: string; children: React.ReactNode; hint?: string }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="muted small">{hint}</span>}
    </label>
  );
}

/**
 * The authorization link with its actions. In the desktop window a link would load TikTok's page inside
 * the console's webview (where the seller is not signed in, and which has no way back), so "Open in
 * browser" asks the opener plugin for the system browser; in the web console it is a plain link to a
 * new tab (`noopener`: TikTok's page gets no handle on the console's window). "Copy link" is for a
 * browser on another machine.
 */
export function AuthorizationLink({
  url,
  transport,
  onOpen,
  onCopy,
  copied,
}: {
  url: string;
  transport: Transport["name"];
  onOpen: (url: string) => void;
  onCopy: (url: string) => void;
  copied: boolean;
}) {
  return (
    <div className="connect-link">
      <span className="mono connect-url" aria-label="Authorization link">
        {url}
      </span>
      <span className="connect-link-actions">
        {transport === "tauri" ? (
          <button type="button" className="button button-primary" onClick={() => onOpen(url)}>
            Open in browser
          </button>
        ) : (
          <a className="button button-primary" href={url} target="_blank" rel="noopener noreferrer">
            Open in browser
          </a>
        )}
        <button type="button" className="button" onClick={() => onCopy(url)}>
          {copied ? "Copied" : "Copy link"}
        </button>
      </span>
    </div>
  );
}

function Connected({ api, session }: { api: Api; session: ConnectSession }) {
  const [restarting, setRestarting] = useState(false);
  return (
    <div className="connect-result" role="status">
      <p className="ok-note">
        Connected {session.shops.map((s) => `${s.name} (${s.tts_shop_id}${s.region ? `, ${s.region}` : ""})`).join(", ")}. Its
        tokens are in the system keyring.
      </p>
      {session.restart_required &&
        (api.transport === "tauri" ? (
          <p>
            The console is still showing the demo shop.{" "}
            <button
              type="button"
              className="button button-primary"
              disabled={restarting}
              onClick={() => {
                setRestarting(true);
                void api.restartApp().catch(() => setRestarting(false));
              }}
            >
              {restarting ? "Restarting…" : "Restart to work its orders"}
            </button>
          </p>
        ) : (
          <p>
            The console is still showing the demo shop: restart <code>creatorflow-cli serve</code> to work the connected
            shop's orders.
          </p>
        ))}
    </div>
  );
}

export function ConnectShop({ api, onConnected }: { api: Api; onConnected: () => void }) {
  const [form, setForm] = useState<ConnectForm>(emptyConnectForm);
  const [session, setSession] = useState<ConnectSession | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [pasted, setPasted] = useState("");
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  const set = (k: keyof ConnectForm) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));

  const waiting = session?.state === "waiting" || session?.state === "completing";
  const sessionId = session?.id;
  // Poll while the session waits: the redirect completes it in the background.
  useEffect(() => {
    if (!waiting || !sessionId) return;
    let cancelled = false;
    const timer = setInterval(() => {
      api.connectStatus(sessionId).then(
        (s) => {
          if (cancelled) return;
          setSession(s);
          if (s.state === "connected") onConnected();
        },
        (e) => !cancelled && setError(toApiError(e, "ui")),
      );
    }, POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, waiting, sessionId, onConnected]);

  const start = async (e: React.FormEvent) => {
    e.preventDefault();
    const req = connectRequest(form);
    if (typeof req === "string") return setProblem(req);
    setProblem(null);
    setError(null);
    setBusy(true);
    try {
      setSession(await api.beginConnect(req));
      // The secret went to the engine; it does not stay in the page.
      setForm((f) => ({ ...f, appSecret: "" }));
    } catch (err) {
      setError(toApiError(err, "ui"));
    } finally {
      setBusy(false);
    }
  };
  const usePasted = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!session || !pasted.trim()) return;
    setError(null);
    setBusy(true);
    try {
      const s = await api.connectWithCode(session.id, pasted);
      setSession(s);
      setPasted("");
      if (s.state === "connected") onConnected();
    } catch (err) {
      setError(toApiError(err, "ui"));
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    if (!session) return;
    try {
      setSession(await api.cancelConnect(session.id));
    } catch (err) {
      setError(toApiError(err, "ui"));
    }
  };
  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  const openInBrowser = async (url: string) => {
    setError(null);
    try {
      await api.openInBrowser(url);
    } catch (err) {
      setError(toApiError(err, "ipc"));
    }
  };

  const errorNote = <ErrorNote error={error ?? session?.error} />;

  if (session && session.state !== "cancelled" && session.state !== "failed") {
    return (
      <div className="panel-body connect">
        {errorNote}
        {session.state === "connected" ? (
          <>
            <Connected api={api} session={session} />
            <button type="button" className="button" onClick={() => setSession(null)}>
              Connect another shop
            </button>
          </>
        ) : (
          <>
            <ol className="connect-steps">
              <li>
                Open this link in a browser where you are signed in to TikTok Shop, and authorize CreatorFlow:
                <AuthorizationLink
                  url={session.url}
                  transport={api.transport}
                  onOpen={(url) => void openInBrowser(url)}
                  onCopy={(url) => void copy(url)}
                  copied={copied}
                />
              </li>
              <li>
                {session.state === "completing" ? (
                  <span role="status">Authorized: storing the shop…</span>
                ) : (
                  <span role="status">
                    Waiting for TikTok to redirect to <span className="mono">{session.redirect_uri}</span> (
                    {formatRemaining(session.expires_in_ms)} left).
                  </span>
                )}
              </li>
            </ol>
            <form className="connect-paste" onSubmit={(e) => void usePasted(e)}>
              <Field label="Or paste the code, or the whole address TikTok redirected to" hint="When the browser runs on another machine than this console.">
                <input type="text" value={pasted} onChange={(e) => setPasted(e.target.value)} spellCheck={false} autoComplete="off" />
              </Field>
              <div className="connect-actions">
                <button type="submit" className="button button-primary" disabled={busy || !pasted.trim()}>
                  Use this code
                </button>
                <button type="button" className="button" onClick={() => void cancel()}>
                  Cancel
                </button>
              </div>
            </form>
          </>
        )}
      </div>
    );
  }

  return (
    <form className="panel-body connect" onSubmit={(e) => void start(e)} aria-label="Connect a shop">
      {errorNote}
      {session?.state === "cancelled" && <p className="muted">The authorization was cancelled.</p>}
      <p>
        Use your app's key and secret from TikTok Shop Partner Center. CreatorFlow opens an authorization link; after
        you authorize, every shop it covers is stored, with its tokens in the system keyring.
      </p>
      <div className="connect-grid">
        <Field label="App key">
          <input type="text" value={form.appKey} onChange={set("appKey")} autoComplete="off" spellCheck={false} />
        </Field>
        <Field label="App secret">
          <input type="password" value={form.appSecret} onChange={set("appSecret")} autoComplete="off" />
        </Field>
      </div>
      <details className="connect-advanced">
        <summary>Hosts and shipping options</summary>
        <div className="connect-grid">
          <Field label="API host" hint="Blank: TikTok's open API host.">
            <input type="text" value={form.apiBase} onChange={set("apiBase")} placeholder="https://open-api.tiktokglobalshop.com" spellCheck={false} />
          </Field>
          <Field label="Auth host" hint="Blank: TikTok's auth host.">
            <input type="text" value={form.authBase} onChange={set("authBase")} placeholder="https://auth.tiktok-shops.com" spellCheck={false} />
          </Field>
          <Field label="Authorization page" hint="Blank: TikTok Shop's seller authorization page.">
            <input type="text" value={form.authorizeUrl} onChange={set("authorizeUrl")} placeholder="https://services.tiktokshop.com/open/authorize" spellCheck={false} />
          </Field>
          <Field label="Handover method">
            <select value={form.handover} onChange={set("handover")}>
              <option value="">Pickup (default)</option>
              <option value="PICKUP">Pickup</option>
              <option value="DROP_OFF">Drop-off</option>
            </select>
          </Field>
          <Field label="Priority">
            <select value={form.priority} onChange={set("priority")}>
              <option value="">0 (normal)</option>
              {Array.from({ length: 9 }, (_, i) => i + 1).map((p) => (
                <option key={p} value={p}>
                  {p === 9 ? "9 (first)" : p}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </details>
      {problem && <p className="field-problem">{problem}</p>}
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? "Starting…" : "Connect a shop"}
      </button>
      <p className="muted small">
        Scripted set-ups: <code>creatorflow-cli shop connect --app-key KEY</code>, or <code>shop add</code> with the
        tokens in the environment.
      </p>
    </form>
  );
}
