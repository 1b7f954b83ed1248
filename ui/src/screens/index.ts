// The console's screens, in navigation order. A screen is a component taking the `Api`; add one here
// and it gets a tab and a route (`#/<path>`).
import type { ComponentType } from "react";
import type { Api } from "../api";
import { Orders } from "./Orders";
import { Dashboard } from "./Dashboard";
import { Overview } from "./Overview";
import { Triage } from "./Triage";
import { Shops } from "./Shops";

export interface Screen {
  /** The route: `#/<path>`. */
  path: string;
  /** The tab's label. */
  title: string;
  /** Keyboard shortcut: `g` then this key jumps to the screen. */
  key: string;
  component: ComponentType<{ api: Api }>;
}

export const screens: Screen[] = [
  { path: "dashboard", title: "Dashboard", key: "d", component: Dashboard },
  { path: "overview", title: "Overview", key: "o", component: Overview },
  { path: "orders", title: "Orders", key: "r", component: Orders },
  { path: "triage", title: "Failed jobs", key: "f", component: Triage },
  { path: "shops", title: "Shops & settings", key: "s", component: Shops },
];
