// The one transport adapter: the same calls travel over Tauri IPC in the desktop app and over HTTP
// (`/api/<command>`) in the web console. Components never know which; they see `ApiError` either way.
import { invoke } from "@tauri-apps/api/core";
import type { CommandError } from "../bindings/CommandError";

/** A failed call, always in the `{kind, message}` shape so the UI can branch on `kind`. */
export class ApiError extends Error implements CommandError {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
  }
}

export type Args = Record<string, unknown>;

export interface Transport {
  readonly name: "tauri" | "http";
  call<T>(command: string, args?: Args): Promise<T>;
}

function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as CommandError).kind === "string" &&
    typeof (value as CommandError).message === "string"
  );
}

/** Turns whatever a transport rejected with into an `ApiError`. */
export function toApiError(reason: unknown, fallbackKind: string): ApiError {
  if (reason instanceof ApiError) return reason;
  if (isCommandError(reason)) return new ApiError(reason.kind, reason.message);
  // Tauri rejects with a bare string when the IPC layer itself refuses (ACL denial, unknown command).
  if (typeof reason === "string") return new ApiError(fallbackKind, reason);
  if (reason instanceof Error) return new ApiError(fallbackKind, reason.message);
  return new ApiError(fallbackKind, String(reason));
}

export const tauriTransport: Transport = {
  name: "tauri",
  async call<T>(command: string, args?: Args): Promise<T> {
    try {
      return await invoke<T>(command, args);
    } catch (reason) {
      throw toApiError(reason, "ipc");
    }
  },
};

/** HTTP transport for the web console: reads are `GET /api/<command>`, calls with arguments `POST` JSON. */
export function httpTransport(fetchFn: typeof fetch = (...a) => fetch(...a), base = "/api"): Transport {
  return {
    name: "http",
    async call<T>(command: string, args?: Args): Promise<T> {
      const url = `${base}/${encodeURIComponent(command)}`;
      const init: RequestInit =
        args === undefined
          ? { method: "GET", headers: { accept: "application/json" } }
          : {
              method: "POST",
              headers: { accept: "application/json", "content-type": "application/json" },
              body: JSON.stringify(args),
            };
      let response: Response;
      try {
        response = await fetchFn(url, init);
      } catch (reason) {
        throw toApiError(reason, "network");
      }
      const body: unknown = await response.json().catch(() => undefined);
      if (!response.ok) {
        if (isCommandError(body)) throw new ApiError(body.kind, body.message);
        throw new ApiError("http", `${url} answered ${response.status} ${response.statusText}`.trim());
      }
      if (body === undefined) throw new ApiError("http", `${url} answered with a body that is not json`);
      return body as T;
    },
  };
}

/** The transport for this page: Tauri IPC inside the desktop app, HTTP anywhere else. */
export function detectTransport(global: object = globalThis): Transport {
  return "__TAURI_INTERNALS__" in global ? tauriTransport : httpTransport();
}
