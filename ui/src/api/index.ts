// The console's API as the components call it: one typed function per command, over the detected
// transport. Add a function here when the Rust side adds a command (src-tauri/src/commands.rs) and its
// route (crates/web/src/api.rs); both take the same JSON arguments.
import type { Backup } from "../bindings/Backup";
import type { Overview } from "../bindings/Overview";
import type { Settings } from "../bindings/Settings";
import type { Shop } from "../bindings/Shop";
import type { ShopSettings } from "../bindings/ShopSettings";
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
}

export function createApi(transport: Transport = detectTransport()): Api {
  return {
    transport: transport.name,
    overview: () => transport.call<Overview>("overview"),
    listShops: () => transport.call<Shop[]>("list_shops"),
    updateShopSettings: (req) => transport.call<Shop>("update_shop_settings", { req }),
    settings: () => transport.call<Settings>("settings"),
    backupNow: () => transport.call<Backup>("backup_now", {}),
  };
}
