// Pure helpers of the Shops & settings screen: the connect form's request, countdowns, and what the
// demo shop's fault controls say is going on.
import type { ConnectRequest } from "../bindings/ConnectRequest";
import type { DemoFaults } from "../bindings/DemoFaults";
import type { HandoverMethod } from "../bindings/HandoverMethod";

export interface ConnectForm {
  appKey: string;
  appSecret: string;
  apiBase: string;
  authBase: string;
  authorizeUrl: string;
  handover: HandoverMethod | "";
  priority: string;
}

export const emptyConnectForm: ConnectForm = {
  appKey: "",
  appSecret: "",
  apiBase: "",
  authBase: "",
  authorizeUrl: "",
  handover: "",
  priority: "",
};

/** The request for `begin_connect`, or the reason the form cannot be sent yet. Blank optional fields
 *  are left out so the engine uses TikTok's hosts. */
export function connectRequest(form: ConnectForm): ConnectRequest | string {
  const appKey = form.appKey.trim();
  const appSecret = form.appSecret.trim();
  if (!appKey) return "Enter the app key from TikTok Shop Partner Center.";
  if (!appSecret) return "Enter the app secret from TikTok Shop Partner Center.";
  const req: ConnectRequest = { app_key: appKey, app_secret: appSecret };
  const opt = (v: string) => (v.trim() ? v.trim() : undefined);
  const apiBase = opt(form.apiBase);
  const authBase = opt(form.authBase);
  const authorizeUrl = opt(form.authorizeUrl);
  if (apiBase) req.api_base = apiBase;
  if (authBase) req.auth_base = authBase;
  if (authorizeUrl) req.authorize_url = authorizeUrl;
  if (form.handover) req.handover_method = form.handover;
  if (form.priority !== "") req.priority = Number(form.priority);
  return req;
}

/** `m:ss` for a countdown; `0:00` once it ran out. */
export function formatRemaining(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** One line per active fault, for the demo panel's status; empty when the demo shop is healthy. */
export function activeFaults(f: DemoFaults): string[] {
  const out: string[] = [];
  const pct = (r: number) => `${Math.round(r * 100)} %`;
  if (f.outage_remaining_ms > 0) out.push(`TikTok offline: ${formatRemaining(f.outage_remaining_ms)} left`);
  if (f.storm_remaining_ms > 0) out.push(`Throttle storm: ${formatRemaining(f.storm_remaining_ms)} left`);
  if (f.error_rate > 0) out.push(`${pct(f.error_rate)} of calls fail`);
  if (f.throttle_rate > 0) out.push(`${pct(f.throttle_rate)} of calls throttled`);
  if (f.timeout_rate > 0) out.push(`${pct(f.timeout_rate)} of calls time out`);
  if (f.latency_ms > 0) out.push(`up to ${f.latency_ms} ms added per call`);
  return out;
}
