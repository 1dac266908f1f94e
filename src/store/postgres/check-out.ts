import type pg from "pg";

/** A checked-out client's lost connection: the statement in flight rejects with it, and release() then discards the client. */
function lostWhileCheckedOut(): void {}

/**
 * A pooled client for a transaction of several statements. pg emits 'error' on a client
 * whose connection drops (a server shutting down terminates it), and the pool listens only
 * while the client is idle in it, pool.query only during its own statement: a client
 * checked out with pool.connect() and cut between or during statements would emit 'error'
 * with no listener, which ends the process. This one listens until it is released.
 *
 * The listener goes on in pool.connect's callback, not after an await: the pool hands the
 * client over while pg is still parsing the chunk that brought its ReadyForQuery, and a
 * termination in the same chunk is emitted before any awaiting code runs.
 */
export function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error || !client) return reject(error);
      client.on("error", lostWhileCheckedOut);
      const release = client.release; // the pool sets a new one at each check-out
      client.release = (destroy?: Error | boolean) => {
        client.removeListener("error", lostWhileCheckedOut);
        release(destroy);
      };
      resolve(client);
    });
  });
}
