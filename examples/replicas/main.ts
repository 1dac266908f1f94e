// `npm run example:replicas`: the replica example (example.ts) on the database DATABASE_URL names.
import { runReplicaExample } from "./example.js";

const databaseUrl = process.env.DATABASE_URL ?? "";
if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
  process.stderr.write(`The replica example needs a PostgreSQL database its three replicas share:
  DATABASE_URL=postgres://user:password@host:5432/database npm run example:replicas

No server at hand? Either of these gives one on port 55432:
  docker run --rm -d -p 55432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
  # or, with Debian's postgresql package, as a user other than root:
  PG=/usr/lib/postgresql/15/bin; $PG/initdb -D /tmp/pg -U postgres -A trust
  $PG/pg_ctl -D /tmp/pg -o "-p 55432 -k /tmp" -l /tmp/pg.log start
then: DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run example:replicas
`);
  process.exit(2);
}
await runReplicaExample(databaseUrl);
