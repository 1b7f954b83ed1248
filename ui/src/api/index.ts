// The console's API as the components call it: one typed function per command, over the detected
// transport. Add a function here when the Rust side adds a command or route.
import type { History } from "../bindings/History";
import type { HistoryRange } from "../bindings/HistoryRange";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import type { Overview } from "../bindings/Overview";
import { sseLiveStream, tauriLiveStream, type LiveStream, type OnLiveError, type OnSnapshot, type Unsubscribe } from "./live";
import { detectTransport, type Transport } from "./transport";

export { ApiError } from "./transport";
export type { Transport } from "./transport";
export type { LiveStream, OnLiveError, OnSnapshot, Unsubscribe } from "./live";

export interface Api {
  readonly transport: Transport["name"];
  overview(): Promise<Overview>;
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
    liveSnapshot: () => transport.call<LiveSnapshot>("live_snapshot"),
    metricHistory: (range) => transport.call<History>("metric_history", { query: { range } }),
    subscribeLive: (onSnapshot, onError) => stream.subscribe(onSnapshot, onError),
  };
}
