// One live subscription per window, shared by the frame (offline banner, demo notice) and the
// dashboard through React context: the last snapshot, the last 10 minutes of points, the stream's error.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import type { Api } from "../api";
import type { ApiError } from "../api";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import { pushPoint, type LivePoint } from "./liveSeries";

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
  useEffect(() => {
    const unsubscribe = api.subscribeLive(
      (snapshot) => setState((prev) => ({ snapshot, points: pushPoint(prev.points, snapshot), error: null })),
      (error) => setState((prev) => ({ ...prev, error })),
    );
    return unsubscribe;
  }, [api]);
  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  return useContext(LiveContext);
}
