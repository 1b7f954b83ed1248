// Polls the overview once a second. The next request starts only after the previous one settled, so a
// slow engine never piles up calls; the last good snapshot stays on screen while a refresh fails.
import { useEffect, useState } from "react";
import type { Api } from "../api";
import { ApiError } from "../api";
import type { Overview } from "../bindings/Overview";
import { toApiError } from "../api/transport";

export interface OverviewState {
  data: Overview | null;
  /** The error of the latest attempt, or null when it succeeded. */
  error: ApiError | null;
  updatedAt: Date | null;
}

export function useOverview(api: Api, intervalMs = 1000): OverviewState {
  const [state, setState] = useState<OverviewState>({ data: null, error: null, updatedAt: null });
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const data = await api.overview();
        if (!cancelled) setState({ data, error: null, updatedAt: new Date() });
      } catch (reason) {
        if (!cancelled) setState((prev) => ({ ...prev, error: toApiError(reason, "ui") }));
      } finally {
        if (!cancelled) timer = setTimeout(() => void tick(), intervalMs);
      }
    };
    void tick();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [api, intervalMs]);
  return state;
}
