import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BUF = join(ROOT, "node_modules", ".bin", "buf");
const run = promisify(execFile);

/** The shell commands of a README section's sh blocks, each with its `\`-continued lines joined; comments dropped. */
function exampleCommands(section: string): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n${section}\n`);
  assert.ok(start >= 0, `README has no "${section}" section`);
  const end = readme.indexOf("\n## ", start + section.length + 2);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, "")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#")),
  );
}

/** What one example printed. */
interface Answer {
  readonly exit: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout, or for a failed call stderr, as JSON. */
  json(): Record<string, any>;
}

/**
 * Runs a README command as written, in a shell, with the server's ephemeral ports in place of
 * 50051 and 8080 and the local buf binary for `npx buf` (the same program, without npx's start-up).
 */
async function runExample(command: string, server: ServerProcess, prelude: readonly string[] = [], env: Record<string, string> = {}): Promise<Answer> {
  const script = [...prelude, command]
    .join("\n")
    .replaceAll("npx buf ", `${BUF} `)
    .replaceAll("127.0.0.1:50051", server.grpcAddress)
    .replaceAll("127.0.0.1:8080", `127.0.0.1:${server.httpPort}`);
  const result = await run("sh", ["-c", script], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ exit: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ exit: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  return { ...result, json: () => JSON.parse(result.exit === 0 ? result.stdout : result.stderr) };
}

/** The decoded JSON of a Connect error detail ("debug"), or undefined when it came as bytes only. */
const detail = (error: Record<string, any>, type: string) => (error.details as Array<{ type: string; debug?: unknown }>).find((d) => d.type === type)?.debug;

type Check = (answer: Answer, earlier: Answer[]) => void;
const accepted: Check = (a) => assert.equal(a.json().status, "COMMAND_STATUS_ACCEPTED", a.stdout + a.stderr);
const failedWith = (code: string, message: RegExp): Check => (a) => {
  assert.notEqual(a.exit, 0, a.stdout);
  assert.equal(a.json().code, code, a.stderr);
  assert.match(a.json().message, message);
};

/** What each example of "Talk to it" must answer, in the README's order (the path guards the pairing). */
const TALK_TO_IT: Array<[path: string, check: Check]> = [
  ["--list-services", (a) => {
    for (const s of ["booking.v1.BookingService", "payments.v1.PaymentNotificationService", "switchyard.command.v1.CommandService", "switchyard.eventstore.v1.EventStoreService"]) {
      assert.ok(a.stdout.split("\n").includes(s), a.stdout);
    }
  }],
  ["--list-methods", (a) => assert.ok(a.stdout.split("\n").includes("booking.v1.BookingService/BookRoom"), a.stdout)],
  ["BookingService/BookRoom", (a) => {
    accepted(a, []);
    assert.equal(a.json().revision, "1");
  }],
  ["BookingService/RecordPayment", (a) => {
    accepted(a, []);
    assert.equal(a.json().response.outstandingMinor, 20000);
  }],
  ["PaymentNotificationService/NotifyPaymentSucceeded", (a) => {
    accepted(a, []);
    assert.deepEqual(a.json().events.map((e: { type: string }) => e.type), ["PaymentRecorded", "BookingFullyPaid"]);
  }],
  ["BookingService/RecordPayment", (a, earlier) => {
    accepted(a, []);
    assert.equal(a.json().replayed, true);
    assert.equal(a.json().commandId, earlier[3].json().commandId);
  }],
  ["BookingService/RecordPayment", failedWith("failed_precondition", /^paidAt 2099-04-01T10:00:00.000Z is in the future$/)],
  ["BookingService/RecordPayment", (a) => {
    accepted(a, []);
    assert.equal(a.json().replayed, undefined);
  }],
  ["BookingService/RecordPayment", (a) => {
    failedWith("invalid_argument", /^amount: EUR allows 2 decimal places, "12.345" has 3$/)(a, []);
    assert.ok(a.json().details.some((d: { type: string }) => d.type === "google.rpc.BadRequest"), a.stderr);
  }],
  ["8080/booking.v1.BookingService/RecordPayment", (a) => {
    failedWith("invalid_argument", /^amount: EUR allows 2 decimal places/)(a, []);
    assert.deepEqual(detail(a.json(), "google.rpc.BadRequest"), { fieldViolations: [{ field: "amount", description: 'EUR allows 2 decimal places, "12.345" has 3' }] });
    assert.deepEqual(detail(a.json(), "google.rpc.ErrorInfo"), { reason: "VALIDATION_FAILED", domain: "switchyard.dev" });
  }],
  ["EventStoreService/ReadStream", (a) => {
    const types = a.json().events.map((e: { type: string }) => e.type);
    // The confirm-paid-bookings reaction writes BookingConfirmed after BookingFullyPaid, at most once, as soon as it gets to it.
    assert.deepEqual(types.filter((t: string) => t !== "BookingConfirmed"), ["RoomBooked", "PaymentRecorded", "PaymentRecorded", "BookingFullyPaid", "PaymentRecorded", "BookingOverpaid"]);
    const confirmed = types.flatMap((t: string, i: number) => (t === "BookingConfirmed" ? [i] : []));
    assert.ok(confirmed.length <= 1 && confirmed.every((i: number) => i > types.indexOf("BookingFullyPaid")), types.join());
  }],
  ["BookingService/GetBooking", (a) => {
    const booking = a.json();
    // Paid in full: the confirm-paid-bookings reaction confirms it moments after the payment.
    assert.ok(["fully_paid", "confirmed"].includes(booking.status), booking.status);
    assert.deepEqual([booking.price, booking.paid, booking.paymentIds], ["300.00", "310.00", ["P1", "P2", "P4"]]);
  }],
  ["CommandService/Execute", accepted],
  ["CommandService/DescribeCommands", (a) => {
    assert.deepEqual(a.json().commands.map((c: { commandType: string }) => c.commandType), ["booking.BookRoom", "booking.RecordPayment", "booking.CancelBooking", "booking.CancelUnpaidBooking", "booking.ConfirmBooking"]);
  }],
  ["8080/booking.v1.BookingService/BookRoom", (a) => assert.equal(a.json().status, "COMMAND_STATUS_ACCEPTED", a.stdout)],
  ["8080/booking.v1.BookingService/CancelBooking", (a) => {
    assert.equal(a.json().code, "invalid_argument", a.stdout);
    assert.deepEqual((detail(a.json(), "google.rpc.BadRequest") as { fieldViolations: Array<{ field: string }> }).fieldViolations.map((v) => v.field), ["expectedRevison"]);
  }],
  ["--list-services http://127.0.0.1:8080", (a) => {
    for (const s of ["booking.v1.BookingService", "switchyard.eventstore.v1.EventStoreService", "grpc.health.v1.Health"]) assert.ok(a.stdout.split("\n").includes(s), a.stdout);
  }],
  ["8080/readyz", (a) => assert.match(a.stdout, /^HTTP\/1\.1 200 OK[\s\S]*\nok\n$/, a.stdout)],
];

/** Runs commands in order, each checked by its entry: the README and the table must agree on what runs. */
async function runInOrder(commands: string[], table: Array<[string, Check]>, run: (command: string) => Promise<Answer>): Promise<void> {
  assert.deepEqual(
    commands.map((c, i) => c.includes(table[i]?.[0] ?? "\\0") ? table[i][0] : `${c.slice(0, 60)}… (no check for this example)`),
    table.map(([path]) => path),
    "the README's examples and this test's checks differ: add or update the check for each example",
  );
  const answers: Answer[] = [];
  for (const [i, command] of commands.entries()) {
    const answer = await run(command);
    try {
      table[i][1](answer, answers);
    } catch (error) {
      throw new Error(`README example ${i + 1} (${table[i][0]}) answered unexpectedly: ${(error as Error).message}\n${command}`, { cause: error });
    }
    answers.push(answer);
  }
}

describe("the README's examples, run as written against a fresh server", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(() => server?.dispose());

  it('"Talk to it": every example answers as its comment says, in order', async () => {
    await runInOrder(exampleCommands("## Talk to it"), TALK_TO_IT, (command) => runExample(command, server));
  });
});

describe("the README's subscription examples", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(() => server?.dispose());

  it('"Follow the events": each stream starts as its comment says (cut after 8 s, as Ctrl-C would; buf starts slowly on a loaded machine)', async () => {
    const commands = exampleCommands("## Follow the events");
    assert.equal(commands.length, 2, "the checks below pair with the README's two examples");
    const booked = await runExample(
      `${BUF} curl --protocol grpc --http2-prior-knowledge -d '{"bookingId":"F1","roomId":"R1","guestId":"G1","checkIn":"2030-05-01","checkOut":"2030-05-02","price":"90.00","currency":"EUR"}' http://127.0.0.1:50051/booking.v1.BookingService/BookRoom`,
      server,
    );
    accepted(booked, []);
    const [fromStart, fromNow] = await Promise.all(commands.map((command) => runExample(`timeout 8 ${command}`, server)));
    assert.match(fromStart.stdout, /"streamId": "booking-F1"[\s\S]*"caughtUp"/, fromStart.stdout + fromStart.stderr);
    assert.match(fromNow.stdout, /"caughtUp"/, fromNow.stdout + fromNow.stderr);
    assert.doesNotMatch(fromNow.stdout, /"event"/, "from now on, and only payments: nothing yet");
  });
});

describe("the README's worked security example", () => {
  const secret = randomBytes(32).toString("base64");
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ AUTH_MODE: "jwt", AUTH_AUDIENCE: "switchyard", AUTH_JWT_SECRET: secret });
  });
  after(() => server?.dispose());

  it("books with a staff token, refuses a read-only one with the rule, and lets the guest read their own booking", async () => {
    const commands = exampleCommands("## Security");
    // The server is this test's: the lines that make the secret and start one are checked, not run.
    assert.equal(commands[0], "export AUTH_JWT_SECRET=$(head -c 32 /dev/urandom | base64)");
    assert.equal(commands[1], "AUTH_MODE=jwt AUTH_AUDIENCE=switchyard npm start &");
    const assignments: string[] = [];
    const table: Array<[string, Check]> = [
      ["BookingService/BookRoom", accepted],
      ["BookingService/BookRoom", failedWith("permission_denied", /^booking\.BookRoom requires bookings:write; the caller holds bookings:read$/)],
      ["BookingService/GetBooking", (a) => assert.deepEqual([a.json().bookingId, a.json().guestId], ["B1", "alice"], a.stdout + a.stderr)],
    ];
    const calls = commands.slice(2).filter((c) => {
      if (/^[A-Z]+=\$\(node scripts\/mint-token\.mjs /.test(c)) {
        assignments.push(c);
        return false;
      }
      return true;
    });
    assert.equal(assignments.length, 3);
    // Each call runs after the token lines, as in one shell session.
    await runInOrder(calls, table, (command) => runExample(command, server, assignments, { AUTH_JWT_SECRET: secret }));
  });
});

describe("the README's read model examples", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(() => server?.dispose());

  it('"Query the read models": pages, tokens, filters and min_position answer as their comments say', async () => {
    const ids = (a: Answer) => (a.json().bookings ?? []).map((b: { bookingId: string }) => b.bookingId);
    const table: Array<[string, Check]> = [
      ["QueryService/ListCollections", (a) => {
        const names = a.json().collections.map((c: { name: string }) => c.name);
        assert.deepEqual(names, ["bookings", "guest_stays"], a.stdout);
      }],
      ["BookingService/BookRoom", (a) => assert.equal(a.json().globalPosition, "2", a.stdout)],
      ["BookingService/BookRoom", (a) => assert.equal(a.json().globalPosition, "4", a.stdout)],
      ["BookingService/ListBookings", (a) => {
        assert.deepEqual(ids(a), ["Q2"], a.stdout + a.stderr);
        assert.ok(a.json().nextPageToken, a.stdout);
      }],
      ["BookingService/ListBookings", (a) => {
        assert.deepEqual(ids(a), ["Q1"], a.stdout + a.stderr);
        assert.equal(a.json().nextPageToken, undefined, a.stdout);
      }],
      ["BookingService/ListBookings", failedWith("invalid_argument", /^page_token: /)],
      ["QueryService/Find", (a) => {
        assert.deepEqual(a.json().documents.map((d: { id: string }) => d.id), ["Q1"], a.stdout + a.stderr);
      }],
      ["8080/switchyard.query.v1.QueryService/Find", (a) => {
        failedWith("invalid_argument", /^filter\.nights: /)(a, []);
        assert.deepEqual((detail(a.json(), "google.rpc.ErrorInfo") as { reason: string }).reason, "INVALID_FILTER");
      }],
      ["QueryService/Fetch", (a) => {
        const { document } = a.json();
        assert.equal(document?.id, "G7", a.stdout + a.stderr);
        // Both of G7's bookings (RoomBooked at 1 and 3) are in: guest_stays got to position 4 first.
        assert.equal(document.data.bookings, 2, a.stdout);
      }],
      ["QueryService/Fetch", (a) => {
        failedWith("unavailable", /^read model guest_stays has applied events up to position \d+, not yet 1000$/)(a, []);
        const reached = Number(/up to position (\d+)/.exec(a.json().message)![1]);
        assert.ok(reached >= 4, a.stderr);
        const info = a.json().details.find((d: { type: string }) => d.type === "google.rpc.ErrorInfo");
        assert.ok(info, a.stderr);
        // Over gRPC buf curl prints a detail's bytes only: decode them.
        const { reason, metadata } = fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64"));
        assert.deepEqual([reason, metadata], ["NOT_CAUGHT_UP", { minPosition: "1000", position: String(reached) }], a.stderr);
      }],
    ];
    const assignments: string[] = [];
    const calls = exampleCommands("## Query the read models").filter((c) => {
      if (/^TOKEN=\$\(/.test(c)) {
        assignments.push(c);
        return false;
      }
      return true;
    });
    assert.equal(assignments.length, 1);
    // The token line runs before each call that uses $TOKEN, as in one shell session; it only reads.
    await runInOrder(calls, table, (command) => runExample(command, server, command.includes("$TOKEN") ? assignments : []));
  });
});
