// One live subscription per window, shared by the frame (offline banner, demo notice) and the
// dashboard through React context: the last snapshot, the last 10 minutes of points, the stream's error.
import { createContext, useContext, useLayoutEffect, useState, type ReactNode } from "react";
import type { Api } from "../api";
import type { ApiError } from "../api";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import { pushPoint, type LivePoint } from "./liveSeries";
import { markOnce } from "./marks";

export interface LiveState {
  snapshot: LiveSnapshot | null;
  points: LivePoint[];
  /** The stream's latest error; cleared by the next snapshot. */
  error: ApiError | null;
}

const empty: LiveState = { snapshot: null, points: [], error: null };
const LiveContext = createContext<LiveState>(empty);

export function LiveProvider({ api, children }: { api: Api; children: ReactNode }) {
  const [state, setState] = useState<LiveState>(empty);
  // A layout effect, not a passive one: it runs as soon as the first render is in the DOM, before the
  // browser paints it and before the children's passive effects (the charts build their canvases
  // there, ~100-200 ms in WebKitGTK on a loaded machine), so the first snapshot is already on its way
  // meanwhile instead of being asked for after them (ui/e2e/bench-cold-start.mjs, BENCHMARKS.md).
  useLayoutEffect(() => {
    markOnce("cf:live-subscribe");
    const unsubscribe = api.subscribeLive(
      (snapshot) => {
        markOnce("cf:live-first");
        setState((prev) => ({ snapshot, points: pushPoint(prev.points, snapshot), error: null }));
      },
      (error) => setState((prev) => ({ ...prev, error })),
    );
    return unsubscribe;
  }, [api]);
  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  return useContext(LiveContext);
}
