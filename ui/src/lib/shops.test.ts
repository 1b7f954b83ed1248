import { describe, expect, it } from "vitest";
import { activeFaults, connectRequest, emptyConnectForm, formatRemaining } from "./shops";

const healthy = { error_rate: 0, throttle_rate: 0, timeout_rate: 0, latency_ms: 0, outage_remaining_ms: 0, storm_remaining_ms: 0 };

describe("connectRequest", () => {
  it("needs an app key and secret, and says which is missing", () => {
    expect(connectRequest(emptyConnectForm)).toMatch(/app key/);
    expect(connectRequest({ ...emptyConnectForm, appKey: "k" })).toMatch(/app secret/);
    expect(connectRequest({ ...emptyConnectForm, appKey: "k", appSecret: "  " })).toMatch(/app secret/);
  });
  it("trims, and leaves blank optional fields to the engine's defaults", () => {
    expect(connectRequest({ ...emptyConnectForm, appKey: " k ", appSecret: "s\n", apiBase: " " })).toEqual({ app_key: "k", app_secret: "s" });
  });
  it("sends hosts, handover and priority when given", () => {
    const req = connectRequest({
      ...emptyConnectForm,
      appKey: "k",
      appSecret: "s",
      apiBase: "http://127.0.0.1:1",
      authBase: "http://127.0.0.1:2",
      authorizeUrl: "http://127.0.0.1:1/authorize",
      handover: "DROP_OFF",
      priority: "0",
    });
    expect(req).toEqual({
      app_key: "k",
      app_secret: "s",
      api_base: "http://127.0.0.1:1",
      auth_base: "http://127.0.0.1:2",
      authorize_url: "http://127.0.0.1:1/authorize",
      handover_method: "DROP_OFF",
      priority: 0,
    });
  });
});

describe("formatRemaining", () => {
  it("counts down in minutes and seconds, never below zero", () => {
    expect(formatRemaining(600_000)).toBe("10:00");
    expect(formatRemaining(61_001)).toBe("1:02");
    expect(formatRemaining(999)).toBe("0:01");
    expect(formatRemaining(-5)).toBe("0:00");
  });
});

describe("activeFaults", () => {
  it("is empty for a healthy shop", () => {
    expect(activeFaults(healthy)).toEqual([]);
  });
  it("names every active fault", () => {
    const lines = activeFaults({ ...healthy, outage_remaining_ms: 42_000, error_rate: 0.2, latency_ms: 300 });
    expect(lines).toEqual(["TikTok offline: 0:42 left", "20 % of calls fail", "up to 300 ms added per call"]);
  });
});
