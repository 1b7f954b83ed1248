import { describe, expect, it } from "vitest";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import { snapshot } from "../lib/testSnapshot";
import { sseLiveStream, tauriLiveStream, type ChannelLike, type EventSourceHandlers } from "./live";
import { ApiError } from "./transport";

describe("tauri live stream", () => {
  it("subscribes with a channel, forwards its messages and unsubscribes by id", async () => {
    const calls: [string, unknown][] = [];
    let channel: ChannelLike<LiveSnapshot> | undefined;
    const invoke = async <T,>(cmd: string, args?: Record<string, unknown>): Promise<T> => {
      calls.push([cmd, args]);
      return (cmd === "subscribe_live" ? { id: 7 } : true) as T;
    };
    const stream = tauriLiveStream(invoke, () => (channel = { onmessage: () => undefined }));
    const got: LiveSnapshot[] = [];
    const stop = stream.subscribe((s) => got.push(s), () => undefined);
    await Promise.resolve();
    expect(calls[0]![0]).toBe("subscribe_live");
    expect((calls[0]![1] as { onSnapshot: unknown }).onSnapshot).toBe(channel);
    channel!.onmessage(snapshot());
    expect(got).toHaveLength(1);
    stop();
    channel!.onmessage(snapshot());
    expect(got).toHaveLength(1);
    expect(calls[1]).toEqual(["unsubscribe_live", { id: 7 }]);
  });

  it("unsubscribes once the id arrives when stopped early, and reports a refused subscription", async () => {
    const calls: string[] = [];
    let resolve: (v: unknown) => void = () => undefined;
    const invoke = <T,>(cmd: string): Promise<T> => {
      calls.push(cmd);
      return cmd === "subscribe_live" ? (new Promise<unknown>((r) => (resolve = r)) as Promise<T>) : Promise.resolve(true as T);
    };
    const stop = tauriLiveStream(invoke, () => ({ onmessage: () => undefined })).subscribe(() => undefined, () => undefined);
    stop();
    resolve({ id: 3 });
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toEqual(["subscribe_live", "unsubscribe_live"]);

    const errors: ApiError[] = [];
    const refuse = <T,>(): Promise<T> => Promise.reject({ kind: "database", message: "database x: down" });
    tauriLiveStream(refuse, () => ({ onmessage: () => undefined })).subscribe(() => undefined, (e) => errors.push(e));
    await new Promise((r) => setTimeout(r, 0));
    expect(errors[0]).toBeInstanceOf(ApiError);
    expect(errors[0]!.kind).toBe("database");
  });
});

describe("server-sent events live stream", () => {
  it("parses each event, reports a broken event and an interruption, and closes", () => {
    let handlers: EventSourceHandlers | undefined;
    let opened = "";
    let closed = false;
    const stream = sseLiveStream("/api/live", (url, h) => {
      opened = url;
      handlers = h;
      return { close: () => (closed = true) };
    });
    const got: LiveSnapshot[] = [];
    const errors: ApiError[] = [];
    const stop = stream.subscribe((s) => got.push(s), (e) => errors.push(e));
    expect(opened).toBe("/api/live");
    handlers!.onMessage(JSON.stringify(snapshot({ at_ms: 5 })));
    expect(got[0]!.at_ms).toBe(5);
    handlers!.onMessage("not json");
    handlers!.onError();
    expect(errors.map((e) => e.kind)).toEqual(["decode", "network"]);
    stop();
    expect(closed).toBe(true);
    handlers!.onMessage(JSON.stringify(snapshot()));
    expect(got).toHaveLength(1);
  });
});
