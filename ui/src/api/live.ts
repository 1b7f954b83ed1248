// The live snapshot stream, one snapshot a second, over either transport: a Tauri `Channel` in the
// desktop app (`subscribe_live` / `unsubscribe_live`), Server-Sent Events (`GET /api/live`, one
// `data: <LiveSnapshot JSON>` event a second) in the browser. Both reconnect-free from the caller's
// view: subscribe once, call the returned function to stop.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import type { LiveSubscription } from "../bindings/LiveSubscription";
import { ApiError, toApiError } from "./transport";

export type Unsubscribe = () => void;
export type OnSnapshot = (snapshot: LiveSnapshot) => void;
export type OnLiveError = (error: ApiError) => void;

export interface LiveStream {
  subscribe(onSnapshot: OnSnapshot, onError: OnLiveError): Unsubscribe;
}

/** The part of Tauri's `Channel` the stream uses (tests pass a plain object). */
export interface ChannelLike<T> {
  onmessage: (message: T) => void;
}

type InvokeFn = <T>(command: string, args?: Record<string, unknown>) => Promise<T>;

export function tauriLiveStream(
  invokeFn: InvokeFn = invoke,
  makeChannel: () => ChannelLike<LiveSnapshot> = () => new Channel<LiveSnapshot>(),
): LiveStream {
  return {
    subscribe(onSnapshot, onError) {
      let closed = false;
      let id: number | null = null;
      const stop = (subscription: number) => {
        void invokeFn("unsubscribe_live", { id: subscription }).catch(() => undefined);
      };
      const channel = makeChannel();
      channel.onmessage = (snapshot) => {
        if (!closed) onSnapshot(snapshot);
      };
      invokeFn<LiveSubscription>("subscribe_live", { onSnapshot: channel }).then(
        (subscription) => {
          id = subscription.id;
          // Unsubscribed while the subscription was being set up.
          if (closed) stop(id);
        },
        (reason: unknown) => {
          if (!closed) onError(toApiError(reason, "ipc"));
        },
      );
      return () => {
        if (closed) return;
        closed = true;
        if (id !== null) stop(id);
      };
    },
  };
}

/** What the SSE stream needs from `EventSource` (tests pass a fake). */
export interface EventSourceHandlers {
  onMessage(data: string): void;
  onError(): void;
}
export type OpenEventSource = (url: string, handlers: EventSourceHandlers) => { close(): void };

const openEventSource: OpenEventSource = (url, handlers) => {
  const source = new EventSource(url);
  source.onmessage = (event: MessageEvent<string>) => handlers.onMessage(event.data);
  source.onerror = () => handlers.onError();
  return source;
};

export function sseLiveStream(url = "/api/live", open: OpenEventSource = openEventSource): LiveStream {
  return {
    subscribe(onSnapshot, onError) {
      let closed = false;
      const source = open(url, {
        onMessage(data) {
          if (closed) return;
          let snapshot: LiveSnapshot;
          try {
            snapshot = JSON.parse(data) as LiveSnapshot;
          } catch {
            onError(new ApiError("decode", `${url} sent an event that is not a snapshot`));
            return;
          }
          onSnapshot(snapshot);
        },
        // EventSource reconnects by itself; the UI shows the stream as interrupted meanwhile.
        onError() {
          if (!closed) onError(new ApiError("network", `the live stream ${url} was interrupted; reconnecting`));
        },
      });
      return () => {
        closed = true;
        source.close();
      };
    },
  };
}
