// A connection terminated just as it becomes ready (after connecting, or after a statement)
// can bring ReadyForQuery and the termination in one TCP chunk; cutting every backend under
// load shows it now and then. A stand-in server on a local port sends exactly those bytes.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { checkOut } from "../../src/store/postgres/check-out.js";

/** A backend message: its type byte, its length (itself included) and its body. */
function message(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([Buffer.from(type), length, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`);

/** AuthenticationOk, ReadyForQuery, then FATAL 57P01 (an administrator's pg_terminate_backend), and the socket closed. */
const readyThenTerminated = Buffer.concat([
  message("R", Buffer.from([0, 0, 0, 0])),
  message("Z", Buffer.from("I")),
  message("E", Buffer.concat([cstring("SFATAL"), cstring("VFATAL"), cstring("C57P01"), cstring("Mterminating connection due to administrator command"), Buffer.from([0])])),
]);

describe("a client checked out for a transaction", () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((socket) => {
      // The first packet is the startup message; answer it in one write.
      socket.once("data", () => socket.end(readyThenTerminated));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("listens from the moment the pool hands it over: a termination in the chunk that made it ready ends its statements, not the process", async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", record);
    const pool = new pg.Pool({ host: "127.0.0.1", port, user: "switchyard", database: "switchyard" });
    pool.on("error", () => undefined);
    try {
      const client = await checkOut(pool);
      await assert.rejects(client.query("BEGIN"), "the connection is gone");
      client.release(true);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(uncaught, [], "no 'error' went unheard");
    } finally {
      process.off("uncaughtException", record);
      await pool.end();
    }
  });
});
