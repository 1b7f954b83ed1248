// The console's API as the components call it: one typed function per command, over the detected
// transport. Add a function here when the Rust side adds a command (src-tauri/src/commands.rs) and its
// route (crates/web/src/api.rs); both take the same JSON arguments. Commands with arguments take one
// object (`query`, `req`, `id`, `package`).
import type { Backup } from "../bindings/Backup";
import type { ConnectRequest } from "../bindings/ConnectRequest";
import type { ConnectSession } from "../bindings/ConnectSession";
import type { DemoFaultChange } from "../bindings/DemoFaultChange";
import type { DemoFaults } from "../bindings/DemoFaults";
import type { CsvChunk } from "../bindings/CsvChunk";
import type { CsvImportReport } from "../bindings/CsvImportReport";
import type { LabelFile } from "../bindings/LabelFile";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { OrderFacets } from "../bindings/OrderFacets";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderQuery } from "../bindings/OrderQuery";
import type { OrderStatusView } from "../bindings/OrderStatusView";
import type { ActionResult } from "../bindings/ActionResult";
import type { AuditPage } from "../bindings/AuditPage";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { BulkPreview } from "../bindings/BulkPreview";
import type { BulkPreviewRequest } from "../bindings/BulkPreviewRequest";
import type { BulkReport } from "../bindings/BulkReport";
import type { BulkRequest } from "../bindings/BulkRequest";
import type { FailureGroups } from "../bindings/FailureGroups";
import type { JobActionRequest } from "../bindings/JobActionRequest";
import type { Overview } from "../bindings/Overview";
import type { RetryRequest } from "../bindings/RetryRequest";
import type { Settings } from "../bindings/Settings";
import type { Shop } from "../bindings/Shop";
import type { ShopSettings } from "../bindings/ShopSettings";
import type { TrackingEntry } from "../bindings/TrackingEntry";
import type { TrackingResult } from "../bindings/TrackingResult";
import type { TriageFilter } from "../bindings/TriageFilter";
import type { TriageJobDetail } from "../bindings/TriageJobDetail";
import type { TriageJobsQuery } from "../bindings/TriageJobsQuery";
import type { TriagePage } from "../bindings/TriagePage";
import type { History } from "../bindings/History";
import type { HistoryRange } from "../bindings/HistoryRange";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import { openUrl } from "@tauri-apps/plugin-opener";
import { sseLiveStream, tauriLiveStream, type LiveStream, type OnLiveError, type OnSnapshot, type Unsubscribe } from "./live";
import { ApiError, detectTransport, toApiError, type Transport } from "./transport";

export { ApiError };
export type { Transport } from "./transport";
export type { LiveStream, OnLiveError, OnSnapshot, Unsubscribe } from "./live";

export interface Api {
  readonly transport: Transport["name"];
  overview(): Promise<Overview>;
  // Failed-job triage (crates/engine/src/console/triage.rs, triage_actions.rs).
  triageGroups(query: TriageFilter): Promise<FailureGroups>;
  triageJobs(query: TriageJobsQuery): Promise<TriagePage>;
  triageJob(id: number): Promise<TriageJobDetail>;
  triagePreview(req: BulkPreviewRequest): Promise<BulkPreview>;
  triageBulk(req: BulkRequest): Promise<BulkReport>;
  triageRetry(req: RetryRequest): Promise<ActionResult>;
  triageDiscard(req: JobActionRequest): Promise<ActionResult>;
  triageCancel(req: JobActionRequest): Promise<ActionResult>;
  auditLog(query: AuditQuery): Promise<AuditPage>;
  listShops(): Promise<Shop[]>;
  updateShopSettings(req: ShopSettings): Promise<Shop>;
  settings(): Promise<Settings>;
  backupNow(): Promise<Backup>;
  /** Starts connecting a shop (OAuth): the link to open; poll `connectStatus` (crates/engine/src/console/connect.rs). */
  beginConnect(req: ConnectRequest): Promise<ConnectSession>;
  connectStatus(id: string): Promise<ConnectSession>;
  /** Completes a session with a pasted code or the whole redirect URL. */
  connectWithCode(id: string, code: string): Promise<ConnectSession>;
  cancelConnect(id: string): Promise<ConnectSession>;
  /** The demo shop's faults; fails with kind `not_demo` when the demo does not run. */
  demoFaults(): Promise<DemoFaults>;
  changeDemoFaults(change: DemoFaultChange): Promise<DemoFaults>;
  /** Desktop only: stops the pipeline and starts the app again (to leave the demo). */
  restartApp(): Promise<void>;
  /**
   * Desktop only: opens an http(s) URL in the system browser (the opener plugin; its capability allows
   * nothing else). The web console renders a link to a new tab instead.
   */
  openInBrowser(url: string): Promise<void>;
  /** One keyset page of cached orders, newest first. */
  listOrders(query: OrderQuery): Promise<OrderPage>;
  /** Shops and per-status counts for the order filters. */
  orderFacets(): Promise<OrderFacets>;
  /** One order in full; `id` is a TikTok order id or a local id. */
  showOrder(id: string): Promise<OrderDetail>;
  /** Where an order is (status, ship-by, tracking) in one indexed read. */
  orderStatus(id: string): Promise<OrderStatusView>;
  /** A cached label PDF (base64) by local package id. */
  labelPdf(packageId: number): Promise<LabelFile>;
  /** Records a tracking number for a seller-shipped order and wakes its ship job. */
  addTracking(req: TrackingEntry): Promise<TrackingResult>;
  /** Imports `order_id,tracking_number,provider` CSV text; reports every line. */
  importTrackingCsv(csv: string): Promise<CsvImportReport>;
  /** One chunk of the CSV export of `query`; continue with `query.after = chunk.next`. */
  exportOrdersCsv(query: OrderQuery): Promise<CsvChunk>;
  /** One live snapshot (the stream below is what dashboards use). */
  liveSnapshot(): Promise<LiveSnapshot>;
  /** The last hour / day / week from the minute rollups. */
  metricHistory(range: HistoryRange): Promise<History>;
  /** A snapshot a second until the returned function is called. */
  subscribeLive(onSnapshot: OnSnapshot, onError: OnLiveError): Unsubscribe;
}

/** Opens a URL outside the console; the desktop's is the opener plugin's `openUrl`. */
export type OpenUrl = (url: string) => Promise<void>;

/** Only http(s) links leave the console: the same rule as the desktop capability, said before the IPC refuses. */
export function checkBrowserUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError("invalid_input", `not a link a browser can open: ${url.slice(0, 64)}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ApiError("invalid_input", `only http and https links open in the browser, not ${parsed.protocol}`);
  }
  return parsed.href;
}

export function createApi(transport: Transport = detectTransport(), live?: LiveStream, open: OpenUrl = openUrl): Api {
  const stream = live ?? (transport.name === "tauri" ? tauriLiveStream() : sseLiveStream());
  return {
    transport: transport.name,
    overview: () => transport.call<Overview>("overview"),
    triageGroups: (query) => transport.call<FailureGroups>("triage_groups", { query }),
    triageJobs: (query) => transport.call<TriagePage>("triage_jobs", { query }),
    triageJob: (id) => transport.call<TriageJobDetail>("triage_job", { id }),
    triagePreview: (req) => transport.call<BulkPreview>("triage_preview", { req }),
    triageBulk: (req) => transport.call<BulkReport>("triage_bulk", { req }),
    triageRetry: (req) => transport.call<ActionResult>("triage_retry", { req }),
    triageDiscard: (req) => transport.call<ActionResult>("triage_discard", { req }),
    triageCancel: (req) => transport.call<ActionResult>("triage_cancel", { req }),
    auditLog: (query) => transport.call<AuditPage>("audit_log", { query }),
    listShops: () => transport.call<Shop[]>("list_shops"),
    updateShopSettings: (req) => transport.call<Shop>("update_shop_settings", { req }),
    settings: () => transport.call<Settings>("settings"),
    backupNow: () => transport.call<Backup>("backup_now", {}),
    beginConnect: (req) => transport.call<ConnectSession>("begin_connect", { req }),
    connectStatus: (id) => transport.call<ConnectSession>("connect_status", { id }),
    connectWithCode: (id, code) => transport.call<ConnectSession>("connect_with_code", { id, code }),
    cancelConnect: (id) => transport.call<ConnectSession>("cancel_connect", { id }),
    demoFaults: () => transport.call<DemoFaults>("demo_faults"),
    changeDemoFaults: (change) => transport.call<DemoFaults>("change_demo_faults", { change }),
    restartApp: () => transport.call<void>("restart_app", {}),
    openInBrowser: async (url) => {
      const href = checkBrowserUrl(url);
      if (transport.name !== "tauri") throw new ApiError("unsupported", "the web console opens links itself");
      try {
        await open(href);
      } catch (reason) {
        throw toApiError(reason, "ipc");
      }
    },
    listOrders: (query) => transport.call<OrderPage>("list_orders", { query }),
    orderFacets: () => transport.call<OrderFacets>("order_facets", {}),
    showOrder: (id) => transport.call<OrderDetail>("show_order", { id }),
    orderStatus: (id) => transport.call<OrderStatusView>("order_status", { id }),
    labelPdf: (packageId) => transport.call<LabelFile>("label_pdf", { package: packageId }),
    addTracking: (req) => transport.call<TrackingResult>("add_tracking", { req }),
    importTrackingCsv: (csv) => transport.call<CsvImportReport>("import_tracking_csv", { req: { csv } }),
    exportOrdersCsv: (query) => transport.call<CsvChunk>("export_orders_csv", { query }),
    liveSnapshot: () => transport.call<LiveSnapshot>("live_snapshot"),
    metricHistory: (range) => transport.call<History>("metric_history", { query: { range } }),
    subscribeLive: (onSnapshot, onError) => stream.subscribe(onSnapshot, onError),
  };
}
