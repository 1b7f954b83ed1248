// Shops & settings: each connected shop's handover method, priority and pause switch (changes are
// audited by the engine), connecting another shop (components/ConnectShop.tsx), the demo shop's fault
// controls (components/DemoFaultControls.tsx), where the data lives, and "backup now".
import { useCallback, useEffect, useState } from "react";
import type { Api } from "../api";
import { ConnectShop } from "../components/ConnectShop";
import { DemoFaultControls } from "../components/DemoFaultControls";
import { ErrorNote } from "../components/ErrorNote";
import { toApiError, type ApiError } from "../api/transport";
import type { Backup } from "../bindings/Backup";
import type { HandoverMethod } from "../bindings/HandoverMethod";
import type { Settings } from "../bindings/Settings";
import type { Shop } from "../bindings/Shop";
import type { ShopSettings } from "../bindings/ShopSettings";

const handovers: { value: HandoverMethod; label: string }[] = [
  { value: "DROP_OFF", label: "Drop-off" },
  { value: "PICKUP", label: "Pickup" },
];

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

function ShopRow({ shop, onChange }: { shop: Shop; onChange: (req: ShopSettings) => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const change = async (req: Omit<ShopSettings, "shop">) => {
    setBusy(true);
    try {
      await onChange({ shop: shop.name, ...req });
    } finally {
      setBusy(false);
    }
  };
  const state = shop.status === "deauthorized" ? "Needs re-authorization" : shop.paused ? "Paused" : "Active";
  return (
    <tr>
      <th scope="row">
        {shop.name}
        <div className="muted mono small">
          {shop.tts_shop_id} · {shop.region}
        </div>
      </th>
      <td>
        <span className={`pill pill-${shop.status === "deauthorized" ? "bad" : shop.paused ? "warn" : "ok"}`}>{state}</span>
      </td>
      <td>
        <select
          aria-label={`Handover method of ${shop.name}`}
          value={shop.handover_method}
          disabled={busy}
          onChange={(e) => void change({ handover_method: e.target.value as HandoverMethod })}
        >
          {handovers.map((h) => (
            <option key={h.value} value={h.value}>
              {h.label}
            </option>
          ))}
        </select>
      </td>
      <td>
        <select
          aria-label={`Priority of ${shop.name}`}
          value={shop.priority}
          disabled={busy}
          onChange={(e) => void change({ priority: Number(e.target.value) })}
        >
          {Array.from({ length: 10 }, (_, p) => (
            <option key={p} value={p}>
              {p === 0 ? "0 (normal)" : p === 9 ? "9 (first)" : p}
            </option>
          ))}
        </select>
      </td>
      <td>
        <button type="button" className="button" disabled={busy} onClick={() => void change({ paused: !shop.paused })}>
          {shop.paused ? `Resume` : `Pause`}
          <span className="visually-hidden"> {shop.name}</span>
        </button>
      </td>
    </tr>
  );
}

export function Shops({ api }: { api: Api }) {
  const [shops, setShops] = useState<Shop[] | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [backup, setBackup] = useState<Backup | null>(null);
  const [backingUp, setBackingUp] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      const [s, cfg] = await Promise.all([api.listShops(), api.settings()]);
      setShops(s);
      setSettings(cfg);
    } catch (e) {
      setError(toApiError(e, "ui"));
    }
  }, [api]);
  useEffect(() => void load(), [load]);

  const update = async (req: ShopSettings) => {
    try {
      setError(null);
      const updated = await api.updateShopSettings(req);
      setShops((prev) => prev?.map((s) => (s.id === updated.id ? updated : s)) ?? prev);
    } catch (e) {
      setError(toApiError(e, "ui"));
    }
  };
  const backupNow = async () => {
    setBackingUp(true);
    try {
      setError(null);
      setBackup(await api.backupNow());
    } catch (e) {
      setError(toApiError(e, "ui"));
    } finally {
      setBackingUp(false);
    }
  };

  return (
    <>
      <ErrorNote error={error} />
      <section className="panel" aria-labelledby="shops-heading">
        <div className="panel-head">
          <h2 id="shops-heading">Shops</h2>
          <p className="panel-note">Priority 9 is worked first; a paused shop is neither synced nor shipped</p>
        </div>
        {shops === null ? (
          <p className="placeholder">Loading…</p>
        ) : shops.length === 0 ? (
          <div className="empty">
            <p className="empty-title">No shop connected yet</p>
            <p>Connect one below; until then the console runs the built-in demo shop.</p>
          </div>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Shop</th>
                <th scope="col">State</th>
                <th scope="col">Handover</th>
                <th scope="col">Priority</th>
                <th scope="col">
                  <span className="visually-hidden">Pause or resume</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shops.map((s) => (
                <ShopRow key={s.id} shop={s} onChange={update} />
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel" aria-labelledby="connect-heading">
        <div className="panel-head">
          <h2 id="connect-heading">Connect a shop</h2>
        </div>
        <ConnectShop api={api} onConnected={() => void load()} />
      </section>

      <DemoFaultControls api={api} />

      <section className="panel" aria-labelledby="data-heading">
        <div className="panel-head">
          <h2 id="data-heading">Data</h2>
        </div>
        <div className="panel-body">
          <dl className="kv">
            <dt>Data folder</dt>
            <dd className="mono">{settings?.data_dir ?? "—"}</dd>
            <dt>Database</dt>
            <dd className="mono">{settings?.database ?? "—"}</dd>
            <dt>Backups</dt>
            <dd className="mono">{settings?.backup_dir ?? "—"}</dd>
          </dl>
          <button type="button" className="button button-primary" disabled={!settings?.can_backup || backingUp} onClick={() => void backupNow()}>
            {backingUp ? "Backing up…" : "Back up now"}
          </button>
          {settings && !settings.can_backup && <p className="muted">PostgreSQL is backed up with its own tools (pg_dump).</p>}
          {backup && (
            <p role="status" className="ok-note">
              Saved {formatBytes(backup.bytes)} to <span className="mono">{backup.path}</span> in {backup.took_ms} ms.
            </p>
          )}
        </div>
      </section>
    </>
  );
}
