import { describe, expect, it } from "vitest";
import type { History } from "../bindings/History";
import {
  LIVE_WINDOW_MS,
  formatMs,
  formatPercent,
  historyLatencyColumns,
  historyThroughputColumns,
  liveLatencyColumns,
  liveThroughputColumns,
  offlineNotice,
  pushPoint,
  slowestApiP95,
} from "./liveSeries";
import { snapshot } from "./testSnapshot";

describe("live points", () => {
  it("keeps one point per snapshot and only the last ten minutes", () => {
    const t0 = 1_000_000;
    let points = pushPoint([], snapshot({ at_ms: t0 }));
    // The shared snapshot can arrive twice (two subscribers of one build): not a second point.
    points = pushPoint(points, snapshot({ at_ms: t0 }));
    expect(points).toHaveLength(1);
    for (let i = 1; i <= 700; i++) points = pushPoint(points, snapshot({ at_ms: t0 + i * 1000 }));
    expect(points).toHaveLength(LIVE_WINDOW_MS / 1000);
    expect(points[0]!.at).toBe(t0 + 101_000);
    expect(points[points.length - 1]!.at).toBe(t0 + 700_000);
  });

  it("shapes points into uPlot columns: seconds on x, latency in seconds", () => {
    const points = pushPoint(pushPoint([], snapshot({ at_ms: 10_000 })), snapshot({ at_ms: 11_000, latency: [] }));
    const [x, shipped, api, webhooks] = liveThroughputColumns(points);
    expect(x).toEqual([10, 11]);
    expect(shipped).toEqual([42, 42]);
    expect(api).toEqual([180.4, 180.4]);
    expect(webhooks).toEqual([0, 0]);
    const [, p50, p95, p99, apiP95] = liveLatencyColumns(points);
    expect(p50).toEqual([1.5, null]);
    expect(p95).toEqual([4.2, null]);
    expect(p99).toEqual([9, null]);
    // The slowest endpoint's p95, not the first one's.
    expect(apiP95).toEqual([0.9, null]);
    expect(slowestApiP95(snapshot({ latency: [] }))).toBeNull();
  });

  it("shapes the history's columns and keeps gaps as null", () => {
    const h: History = {
      range: "hour",
      bucket_ms: 60_000,
      from_ms: 0,
      to_ms: 120_000,
      at_ms: [0, 60_000],
      throughput: { orders_shipped: [10, 0], api_calls: [50, 0], webhooks: [1, 0] },
      order_latency: { count: [10, 0], p50: [2000, null], p95: [5000, null], p99: [7000, null], max: [8000, null] },
      api_latency: { count: [50, 0], p50: [40, null], p95: [300, null], p99: [600, null], max: [900, null] },
    };
    expect(historyThroughputColumns(h)).toEqual([[0, 60], [10, 0], [50, 0], [1, 0]]);
    expect(historyLatencyColumns(h)).toEqual([[0, 60], [2, null], [5, null], [7, null], [0.3, null]]);
  });
});

describe("display", () => {
  it("formats durations and shares, with a dash for missing values", () => {
    expect(formatMs(null)).toBe("—");
    expect(formatMs(0.4)).toBe("<1 ms");
    expect(formatMs(250)).toBe("250 ms");
    expect(formatMs(4200)).toBe("4.2 s");
    expect(formatMs(90_000)).toBe("1.5 min");
    expect(formatMs(7_200_000)).toBe("2.0 h");
    expect(formatPercent(null)).toBe("—");
    expect(formatPercent(0.991)).toBe("99.1%");
    expect(formatPercent(0)).toBe("0.0%");
  });

  it("says when a host is offline and how many jobs wait", () => {
    expect(offlineNotice(null)).toBeNull();
    expect(offlineNotice(snapshot())).toBeNull();
    const down = snapshot({ offline: { known: true, offline: true, hosts: ["https://open-api.tiktokglobalshop.com"], backlog: 1234 } });
    expect(offlineNotice(down)).toBe(
      "Offline: https://open-api.tiktokglobalshop.com is not answering. 1,234 jobs wait and will run when the connection is back; everything local keeps working.",
    );
    // A console without the pipeline cannot tell: no banner rather than a guess.
    expect(offlineNotice(snapshot({ offline: { known: false, offline: false, hosts: [], backlog: 5 } }))).toBeNull();
  });
});

describe("locale", () => {
  it("replaces a language tag Intl rejects (WebKitGTK's POSIX \"C\")", async () => {
    const { usableLanguage } = await import("./locale");
    expect(usableLanguage("C")).toBe("en-US");
    expect(usableLanguage(undefined)).toBe("en-US");
    expect(usableLanguage("de-DE")).toBe("de-DE");
  });
});
