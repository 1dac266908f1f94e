// Entry of the store's writer thread. Worker threads do not inherit the TypeScript loader
// the main thread runs under (tsx, on Node 20), so it is registered here before the writer loads.
import { register } from "tsx/esm/api";

register();
await import("./writer-thread.ts");
