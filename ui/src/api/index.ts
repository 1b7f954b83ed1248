// The console's API as the components call it: one typed function per command, over the detected
// transport. Add a function here when the Rust side adds a command (src-tauri/src/commands.rs) and its
// route (crates/web/src/api.rs); both take the same JSON arguments.
import type { ActionResult } from "../bindings/ActionResult";
import type { AuditPage } from "../bindings/AuditPage";
import type { AuditQuery } from "../bindings/AuditQuery";
import type { Backup } from "../bindings/Backup";
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
import type { TriageFilter } from "../bindings/TriageFilter";
import type { TriageJobDetail } from "../bindings/TriageJobDetail";
import type { TriageJobsQuery } from "../bindings/TriageJobsQuery";
import type { TriagePage } from "../bindings/TriagePage";
import type { History } from "../bindings/History";
import type { HistoryRange } from "../bindings/HistoryRange";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import { sseLiveStream, tauriLiveStream, type LiveStream, type OnLiveError, type OnSnapshot, type Unsubscribe } from "./live";
import { detectTransport, type Transport } from "./transport";

export { ApiError } from "./transport";
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
  /** One live snapshot (the stream below is what dashboards use). */
  liveSnapshot(): Promise<LiveSnapshot>;
  /** The last hour / day / week from the minute rollups. */
  metricHistory(range: HistoryRange): Promise<History>;
  /** A snapshot a second until the returned function is called. */
  subscribeLive(onSnapshot: OnSnapshot, onError: OnLiveError): Unsubscribe;
}

export function createApi(transport: Transport = detectTransport(), live?: LiveStream): Api {
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
    liveSnapshot: () => transport.call<LiveSnapshot>("live_snapshot"),
    metricHistory: (range) => transport.call<History>("metric_history", { query: { range } }),
    subscribeLive: (onSnapshot, onError) => stream.subscribe(onSnapshot, onError),
  };
}
