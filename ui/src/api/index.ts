// The console's API as the components call it: one typed function per command, over the detected
// transport. Add a function here when the Rust side adds a command (src-tauri/src/commands.rs) and its
// route (crates/web/src/api.rs); both take the same JSON arguments. Commands with arguments take one
// object (`query`, `req`, `id`, `package`).
import type { Backup } from "../bindings/Backup";
import type { CsvChunk } from "../bindings/CsvChunk";
import type { CsvImportReport } from "../bindings/CsvImportReport";
import type { LabelFile } from "../bindings/LabelFile";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { OrderFacets } from "../bindings/OrderFacets";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderQuery } from "../bindings/OrderQuery";
import type { Overview } from "../bindings/Overview";
import type { Settings } from "../bindings/Settings";
import type { Shop } from "../bindings/Shop";
import type { ShopSettings } from "../bindings/ShopSettings";
import type { TrackingEntry } from "../bindings/TrackingEntry";
import type { TrackingResult } from "../bindings/TrackingResult";
import { detectTransport, type Transport } from "./transport";

export { ApiError } from "./transport";
export type { Transport } from "./transport";

export interface Api {
  readonly transport: Transport["name"];
  overview(): Promise<Overview>;
  listShops(): Promise<Shop[]>;
  updateShopSettings(req: ShopSettings): Promise<Shop>;
  settings(): Promise<Settings>;
  backupNow(): Promise<Backup>;
  /** One keyset page of cached orders, newest first. */
  listOrders(query: OrderQuery): Promise<OrderPage>;
  /** Shops and per-status counts for the order filters. */
  orderFacets(): Promise<OrderFacets>;
  /** One order in full; `id` is a TikTok order id or a local id. */
  showOrder(id: string): Promise<OrderDetail>;
  /** A cached label PDF (base64) by local package id. */
  labelPdf(packageId: number): Promise<LabelFile>;
  /** Records a tracking number for a seller-shipped order and wakes its ship job. */
  addTracking(req: TrackingEntry): Promise<TrackingResult>;
  /** Imports `order_id,tracking_number,provider` CSV text; reports every line. */
  importTrackingCsv(csv: string): Promise<CsvImportReport>;
  /** One chunk of the CSV export of `query`; continue with `query.after = chunk.next`. */
  exportOrdersCsv(query: OrderQuery): Promise<CsvChunk>;
}

export function createApi(transport: Transport = detectTransport()): Api {
  return {
    transport: transport.name,
    overview: () => transport.call<Overview>("overview"),
    listShops: () => transport.call<Shop[]>("list_shops"),
    updateShopSettings: (req) => transport.call<Shop>("update_shop_settings", { req }),
    settings: () => transport.call<Settings>("settings"),
    backupNow: () => transport.call<Backup>("backup_now", {}),
    listOrders: (query) => transport.call<OrderPage>("list_orders", { query }),
    orderFacets: () => transport.call<OrderFacets>("order_facets", {}),
    showOrder: (id) => transport.call<OrderDetail>("show_order", { id }),
    labelPdf: (packageId) => transport.call<LabelFile>("label_pdf", { package: packageId }),
    addTracking: (req) => transport.call<TrackingResult>("add_tracking", { req }),
    importTrackingCsv: (csv) => transport.call<CsvImportReport>("import_tracking_csv", { req: { csv } }),
    exportOrdersCsv: (query) => transport.call<CsvChunk>("export_orders_csv", { query }),
  };
}
