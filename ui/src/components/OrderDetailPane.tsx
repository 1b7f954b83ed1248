// One order in full, beside the orders table: line items, address, packages with tracking and the
// stored label (opened or saved from a blob URL, so it prints offline), shipments, the timeline, and
// the manual tracking form for seller-shipped orders.
import { useEffect, useState } from "react";
import type { Api, ApiError } from "../api";
import { toApiError } from "../api/transport";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { TrackingResult } from "../bindings/TrackingResult";
import { ErrorNote } from "./ErrorNote";
import { addressLines, base64ToBytes, formatAmount, formatTime, formatTimeMs, statusLabel } from "../lib/orders";

/** Statuses in which a seller-shipped order can still take a tracking number. */
const OPEN = ["UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"];
const PROVIDERS = ["Royal Mail", "Evri", "DPD", "USPS", "UPS", "FedEx", "DHL"];

const shipJobText: Record<TrackingResult["ship_job"], string> = {
  woken: "the pipeline is shipping it now",
  retried: "its stopped ship job runs again now",
  queued: "the ship job picks it up on its next run",
  after_validation: "it ships once the order passes validation",
  none: "nothing more to do",
};

export function OrderDetailPane({
  api,
  orderId,
  onClose,
  onChanged,
}: {
  api: Api;
  orderId: number;
  onClose: () => void;
  onChanged: () => void;
}) {
  const [detail, setDetail] = useState<OrderDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [reload, setReload] = useState(0);
  const [label, setLabel] = useState<{ packageId: number; url: string; name: string } | null>(null);

  useEffect(() => {
    let live = true;
    setError(null);
    api.showOrder(String(orderId)).then(
      (d) => live && setDetail(d),
      (e) => live && setError(toApiError(e, "ui")),
    );
    return () => {
      live = false;
    };
  }, [api, orderId, reload]);
  useEffect(() => () => {
    if (label) URL.revokeObjectURL(label.url);
  }, [label]);

  const openLabel = async (packageId: number, save: boolean) => {
    try {
      const file = await api.labelPdf(packageId);
      const url = URL.createObjectURL(new Blob([base64ToBytes(file.pdf_base64)], { type: "application/pdf" }));
      if (save) {
        const a = document.createElement("a");
        a.href = url;
        a.download = file.file_name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } else {
        setLabel({ packageId, url, name: file.file_name });
      }
    } catch (e) {
      setError(toApiError(e, "ui"));
    }
  };

  const o = detail?.order;
  return (
    <aside className="panel order-detail" aria-label={o ? `Order ${o.tts_order_id}` : "Order detail"}>
      <div className="panel-head">
        <h2 className="mono">{o?.tts_order_id ?? "Order"}</h2>
        <button type="button" className="btn btn-quiet" onClick={onClose} aria-label="Close order detail">
          Close
        </button>
      </div>
      <ErrorNote error={error} />
      {!detail && !error && <p className="placeholder">Loading…</p>}
      {detail && o && (
        <div className="order-detail-body">
          <dl className="kv">
            <dt>Status</dt>
            <dd>
              <span className={`pill status-${o.status.toLowerCase()}`}>{statusLabel(o.status)}</span>
              {o.at_risk && <span className="risk"> at risk</span>}
            </dd>
            <dt>Buyer</dt>
            <dd>{o.buyer_name || "—"}</dd>
            <dt>Total</dt>
            <dd>{formatAmount(o.total_amount, o.currency)}</dd>
            <dt>Shipping</dt>
            <dd>{o.shipping_type === "TIKTOK" ? "TikTok logistics" : "Seller (own carrier)"}</dd>
            <dt>Created</dt>
            <dd>{formatTime(o.create_time)}</dd>
            <dt>Paid</dt>
            <dd>{formatTime(o.paid_time)}</dd>
            <dt>Ship by</dt>
            <dd className={o.at_risk ? "risk" : undefined}>{formatTime(o.ship_by_time)}</dd>
            <dt>Local id</dt>
            <dd className="mono">{o.id}</dd>
          </dl>

          <h3>Ship to</h3>
          <address className="address">
            {addressLines(detail.recipient_address).map((l, i) => (
              <span key={i}>{l}</span>
            )) }
            {addressLines(detail.recipient_address).length === 0 && <span className="muted">No address cached</span>}
          </address>

          <h3>Items ({detail.line_items.length})</h3>
          <ul className="items">
            {detail.line_items.map((li) => (
              <li key={li.tts_line_item_id}>
                <span>{li.product_name}{li.sku_name ? ` · ${li.sku_name}` : ""}</span>
                <span className="mono muted">{li.seller_sku || li.sku_id}</span>
                <span className="num">{formatAmount(li.sale_price, li.currency)}</span>
              </li>
            ))}
          </ul>

          <h3>Packages ({detail.packages.length})</h3>
          <ul className="items">
            {detail.packages.map((p) => (
              <li key={p.id}>
                <span className="mono">{p.tts_package_id}</span>
                <span>
                  {p.tracking_number ? <span className="mono">{p.tracking_number}</span> : <span className="muted">no tracking yet</span>}
                  {p.shipping_provider ? ` · ${p.shipping_provider}` : ""}
                </span>
                <span className="label-actions">
                  {p.has_label ? (
                    <>
                      <button type="button" className="btn btn-small" onClick={() => void openLabel(p.id, false)} aria-label={`Open the label of package ${p.tts_package_id}`}>
                        Label
                      </button>
                      <button type="button" className="btn btn-small btn-quiet" onClick={() => void openLabel(p.id, true)} aria-label={`Save the label of package ${p.tts_package_id}`}>
                        Save
                      </button>
                    </>
                  ) : (
                    <span className="muted">label not stored</span>
                  )}
                </span>
              </li>
            ))}
          </ul>
          {label && (
            <div className="label-preview">
              <p>
                <a href={label.url} target="_blank" rel="noreferrer">Open {label.name} in a new window</a> ·{" "}
                <a href={label.url} download={label.name}>Save</a> ·{" "}
                <button type="button" className="btn btn-small btn-quiet" onClick={() => setLabel(null)}>Hide</button>
              </p>
              <iframe title={`Label ${label.name}`} src={label.url} />
            </div>
          )}

          {detail.shipments.length > 0 && (
            <>
              <h3>Shipments</h3>
              <ul className="items">
                {detail.shipments.map((s) => (
                  <li key={s.id}>
                    <span className="mono">{s.tracking_number}</span>
                    <span>{s.shipping_provider ?? s.shipping_provider_id ?? ""}</span>
                    <span className={`muted shipment-${s.status}`}>{s.status} · {s.source === "user" ? "entered by a person" : s.source}</span>
                  </li>
                ))}
              </ul>
            </>
          )}

          {o.shipping_type === "SELLER" && OPEN.includes(o.status) && (
            <TrackingForm
              api={api}
              order={o.tts_order_id}
              onDone={() => {
                setReload((n) => n + 1);
                onChanged();
              }}
            />
          )}

          <h3>Timeline ({detail.timeline.length})</h3>
          <ol className="timeline">
            {detail.timeline.map((e) => (
              <li key={e.id}>
                <span className="muted">{formatTimeMs(e.at)}</span>
                <span className={`source source-${e.source}`}>{e.source}</span>
                <span>{e.message || e.kind}</span>
              </li>
            ))}
            {detail.timeline.length === 0 && <li className="muted">Nothing recorded yet.</li>}
          </ol>
        </div>
      )}
    </aside>
  );
}

function TrackingForm({ api, order, onDone }: { api: Api; order: string; onDone: () => void }) {
  const [tracking, setTracking] = useState("");
  const [provider, setProvider] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: string } | { error: ApiError } | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await api.addTracking({ order, tracking_number: tracking, provider });
      const what = r.outcome === "unchanged" ? "already recorded" : r.outcome === "replaced" ? "recorded (replacing the earlier number)" : "recorded";
      setResult({ ok: `Tracking ${r.tracking_number} ${what}; ${shipJobText[r.ship_job]}.` });
      setTracking("");
      onDone();
    } catch (reason) {
      setResult({ error: toApiError(reason, "ui") });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="tracking-form" onSubmit={(e) => void submit(e)} aria-labelledby="tracking-heading">
      <h3 id="tracking-heading">Enter tracking</h3>
      <label>
        Tracking number
        <input value={tracking} onChange={(e) => setTracking(e.target.value)} required maxLength={64} pattern="[A-Za-z0-9\-]+" title="Letters, digits and - only" autoComplete="off" />
      </label>
      <label>
        Carrier
        <input value={provider} onChange={(e) => setProvider(e.target.value)} required maxLength={64} list="tracking-providers" placeholder="Name or TikTok provider id" />
        <datalist id="tracking-providers">
          {PROVIDERS.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? "Saving…" : "Save tracking"}</button>
      {result && "ok" in result && <p className="ok-text" role="status">{result.ok}</p>}
      {result && "error" in result && (
        <p className="error-text" role="alert">
          {result.error.message} <code className="error-kind">{result.error.kind}</code>
        </p>
      )}
    </form>
  );
}
