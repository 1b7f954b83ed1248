// The console's API as the components call it: one typed function per command, over the detected
// transport. Add a function here when the Rust side adds a command or route.
import type { Overview } from "../bindings/Overview";
import { detectTransport, type Transport } from "./transport";

export { ApiError } from "./transport";
export type { Transport } from "./transport";

export interface Api {
  readonly transport: Transport["name"];
  overview(): Promise<Overview>;
}

export function createApi(transport: Transport = detectTransport()): Api {
  return {
    transport: transport.name,
    overview: () => transport.call<Overview>("overview"),
  };
}
