import { describe, expect, it } from "vitest";
import { ApiError, detectTransport, httpTransport, toApiError } from "./transport";

function fakeFetch(status: number, body: unknown, seen: Array<[string, RequestInit | undefined]>) {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    seen.push([String(input), init]);
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
}

describe("detectTransport", () => {
  it("uses Tauri IPC only inside the desktop app", () => {
    expect(detectTransport({ __TAURI_INTERNALS__: {} }).name).toBe("tauri");
    expect(detectTransport({}).name).toBe("http");
  });
});

describe("httpTransport", () => {
  it("GETs /api/<command> and returns the json body", async () => {
    const seen: Array<[string, RequestInit | undefined]> = [];
    const t = httpTransport(fakeFetch(200, { product: "CreatorFlow Console" }, seen));
    await expect(t.call("overview")).resolves.toEqual({ product: "CreatorFlow Console" });
    expect(seen[0]![0]).toBe("/api/overview");
    expect(seen[0]![1]?.method).toBe("GET");
  });

  it("POSTs arguments as json", async () => {
    const seen: Array<[string, RequestInit | undefined]> = [];
    const t = httpTransport(fakeFetch(200, { ok: true }, seen));
    await t.call("retry_job", { id: 7 });
    expect(seen[0]![1]?.method).toBe("POST");
    expect(seen[0]![1]?.body).toBe('{"id":7}');
  });

  it("passes a structured error body through as kind and message", async () => {
    const t = httpTransport(fakeFetch(503, { kind: "database_unavailable", message: "no db" }, []));
    await expect(t.call("overview")).rejects.toMatchObject({ kind: "database_unavailable", message: "no db" });
  });

  it("reports a non-json error response as kind http with the status", async () => {
    const t = httpTransport(fakeFetch(502, "<html>bad gateway</html>", []));
    const error = await t.call("overview").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ kind: "http" });
    expect((error as ApiError).message).toContain("502");
  });

  it("reports a failed connection as kind network", async () => {
    const t = httpTransport((async () => {
      throw new TypeError("fetch failed");
    }) as typeof fetch);
    await expect(t.call("overview")).rejects.toMatchObject({ kind: "network", message: "fetch failed" });
  });
});

describe("toApiError", () => {
  it("keeps a command error's kind and wraps an IPC refusal string", () => {
    expect(toApiError({ kind: "data_dir", message: "cannot create" }, "ipc")).toMatchObject({
      kind: "data_dir",
      message: "cannot create",
    });
    expect(toApiError("overview not allowed", "ipc")).toMatchObject({ kind: "ipc", message: "overview not allowed" });
  });
});
