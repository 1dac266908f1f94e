#!/usr/bin/python3
"""Book a room and pay for it through Switchyard's gRPC API, checking every answer.

Usage: book_and_pay.py HOST:PORT

Walks one booking through its life against a running server:

  1. booking.v1 BookRoom                  300.00 EUR, 2030-01-01..2030-01-03
  2. booking.v1 RecordPayment             100.00 EUR, paid_at = now
  3. payments.v1 NotifyPaymentSucceeded   20000 minor units (200.00 EUR), occurred_at = now
  4. booking.v1 RecordPayment again       same request_id as 2 -> replayed, original revision
  5. booking.v1 RecordPayment "12.345"    -> INVALID_ARGUMENT with decoded error details
  6. eventstore.v1 ReadStream             booking-<id>: RoomBooked, PaymentRecorded x2, BookingFullyPaid
  7. booking.v1 GetBooking                fully_paid (or confirmed), 300.00 paid, 0.00 outstanding

Prints each CommandResult and error detail readably, and exits 1 if any expectation
fails (2 on bad usage or when the server is unreachable).

Needs the modules generate.sh writes into gen/ and Debian's python3-grpcio and
python3-protobuf (run it with /usr/bin/python3).
"""

from __future__ import annotations

import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen")
# protoc emits absolute imports ("from booking.v1 import booking_pb2"), so gen/ goes on the path.
sys.path.insert(0, GEN)

try:
    import grpc
    from google.protobuf import json_format
    from google.protobuf.timestamp_pb2 import Timestamp

    from booking.v1 import booking_pb2, booking_pb2_grpc
    from google.rpc import error_details_pb2, status_pb2
    from payments.v1 import payments_pb2, payments_pb2_grpc
    from switchyard.command.v1 import command_pb2
    from switchyard.eventstore.v1 import eventstore_pb2, eventstore_pb2_grpc
except ImportError as error:  # pragma: no cover - environment problem, not a check
    sys.stderr.write(
        f"book_and_pay.py: {error}\n"
        "  run clients/python/generate.sh first, and use /usr/bin/python3 with\n"
        "  apt-get install python3-grpcio python3-protobuf\n"
    )
    sys.exit(2)

ERROR_DOMAIN = "switchyard.dev"
DETAILS_KEY = "grpc-status-details-bin"
DEADLINE_S = 10.0
EXPECTED_EVENTS = ["RoomBooked", "PaymentRecorded", "PaymentRecorded", "BookingFullyPaid"]

Status = command_pb2.CommandStatus


# --------------------------------------------------------------------------- checks


class Checks:
    """Collects expectation results; the script's exit status is whether all passed."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def expect(self, ok: bool, what: str, got: object = None) -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            detail = "" if got is None else f" (got {got!r})"
            self.failures.append(what + detail)
            print(f"  FAIL  {what}{detail}")
        return ok

    def equal(self, got: object, want: object, what: str) -> bool:
        return self.expect(got == want, f"{what} == {want!r}", None if got == want else got)


# --------------------------------------------------------------------------- printing


def status_name(value: int) -> str:
    try:
        return Status.Name(value).removeprefix("COMMAND_STATUS_")
    except ValueError:
        return f"<unknown {value}>"


def struct_text(message) -> str:
    return json_format.MessageToJson(message, indent=None, sort_keys=True)


def print_result(result: command_pb2.CommandResult, indent: str = "  ") -> None:
    """A CommandResult as a short, aligned block; empty fields are left out."""
    p = lambda label, value: print(f"{indent}  {label:<16}{value}")  # noqa: E731
    print(f"{indent}CommandResult {status_name(result.status)}  {result.command_type}  aggregate={result.aggregate_id or '-'}")
    p("command_id", result.command_id)
    if result.correlation_id:
        p("correlation_id", result.correlation_id)
    p("revision", f"{result.revision}  (global position {result.global_position})")
    p("replayed", str(result.replayed).lower())
    if result.HasField("expected_revision"):
        p("expected_rev", result.expected_revision)
    for i, event in enumerate(result.events):
        p("events" if i == 0 else "", f"r{event.revision} {event.type:<18} pos {event.global_position}  id {event.id}")
    if not result.events:
        p("events", "(none)")
    if result.HasField("response"):
        p("response", struct_text(result.response))
    if result.code:
        p("code", result.code)
    if result.message:
        p("message", result.message)
    for i, violation in enumerate(result.validation_errors):
        p("validation" if i == 0 else "", f"{violation.field}: {violation.description}")
    if result.error_id:
        p("error_id", result.error_id)


class Details:
    """The google.rpc.Status from grpc-status-details-bin, with its known details unpacked."""

    def __init__(self, error: grpc.RpcError) -> None:
        self.code: grpc.StatusCode = error.code()
        self.message: str = error.details() or ""
        self.status: status_pb2.Status | None = None
        self.error_info: error_details_pb2.ErrorInfo | None = None
        self.bad_request: error_details_pb2.BadRequest | None = None
        self.precondition: error_details_pb2.PreconditionFailure | None = None
        self.result: command_pb2.CommandResult | None = None
        self.unknown: list[str] = []
        raw = next((value for key, value in (error.trailing_metadata() or ()) if key == DETAILS_KEY), None)
        if raw is None:
            return
        self.status = status_pb2.Status.FromString(raw)
        for any_detail in self.status.details:
            for attr, cls in (
                ("error_info", error_details_pb2.ErrorInfo),
                ("bad_request", error_details_pb2.BadRequest),
                ("precondition", error_details_pb2.PreconditionFailure),
                ("result", command_pb2.CommandResult),
            ):
                if any_detail.Is(cls.DESCRIPTOR):
                    message = cls()
                    any_detail.Unpack(message)
                    setattr(self, attr, message)
                    break
            else:
                self.unknown.append(any_detail.type_url)

    def print(self) -> None:
        print(f"  status  {self.code.name} ({self.code.value[0]}): {self.message}")
        if self.status is None:
            print(f"  (no {DETAILS_KEY} trailer)")
            return
        print(f"  {DETAILS_KEY}: google.rpc.Status code={self.status.code} message={self.status.message!r}")
        for any_detail in self.status.details:
            print(f"    - {any_detail.type_url}")
        if self.error_info is not None:
            info = self.error_info
            meta = ", ".join(f"{k}={v}" for k, v in sorted(info.metadata.items())) or "-"
            print(f"  ErrorInfo            reason={info.reason} domain={info.domain} metadata: {meta}")
        if self.bad_request is not None:
            print("  BadRequest           field violations:")
            for violation in self.bad_request.field_violations:
                print(f"                         {violation.field}: {violation.description}")
        if self.precondition is not None:
            print("  PreconditionFailure  violations:")
            for violation in self.precondition.violations:
                print(f"                         [{violation.type}] {violation.subject}: {violation.description}")
        if self.result is not None:
            print_result(self.result)
        for type_url in self.unknown:
            print(f"  (undecoded detail {type_url})")


def heading(text: str) -> None:
    print(f"\n== {text}")


def now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


# --------------------------------------------------------------------------- the walk


def call(checks: Checks, what: str, rpc, request, metadata):
    """Runs one unary RPC; an unexpected error is printed with its details and fails the check."""
    try:
        return rpc(request, timeout=DEADLINE_S, metadata=metadata)
    except grpc.RpcError as error:
        Details(error).print()
        checks.expect(False, f"{what} succeeds", error.code().name)
        return None


def expect_accepted(checks: Checks, result, what: str, events: list[str]) -> None:
    if result is None:
        return
    print_result(result)
    checks.equal(status_name(result.status), "ACCEPTED", f"{what}: status")
    checks.equal([e.type for e in result.events], events, f"{what}: events written")


def run(target: str) -> Checks:
    checks = Checks()
    run_id = uuid.uuid4().hex[:12]
    booking_id = f"py-{run_id}"
    stream_id = f"booking-{booking_id}"
    metadata = (("x-correlation-id", f"book-and-pay-{run_id}"),)
    print(f"target {target}   booking {booking_id}   correlation id {metadata[0][1]}")

    channel = grpc.insecure_channel(target)
    try:
        grpc.channel_ready_future(channel).result(timeout=DEADLINE_S)
    except grpc.FutureTimeoutError:
        sys.stderr.write(f"book_and_pay.py: no gRPC server at {target} after {DEADLINE_S:.0f}s\n")
        sys.exit(2)

    bookings = booking_pb2_grpc.BookingServiceStub(channel)
    payments = payments_pb2_grpc.PaymentNotificationServiceStub(channel)
    events = eventstore_pb2_grpc.EventStoreServiceStub(channel)

    # 1. Book.
    heading("1. booking.v1.BookingService/BookRoom  300.00 EUR, 2030-01-01..2030-01-03")
    booked = call(checks, "BookRoom", bookings.BookRoom, booking_pb2.BookRoomRequest(
        booking_id=booking_id,
        room_id=f"room-{booking_id}",
        guest_id="guest-py",
        check_in="2030-01-01",
        check_out="2030-01-03",
        price="300.00",
        currency="EUR",
        request_id=f"book-{run_id}",
    ), metadata)
    # The booking's event, then the room's (room-<room_id>), written by the same command.
    expect_accepted(checks, booked, "BookRoom", ["RoomBooked", "NightsReserved"])

    # 2. First payment, on the booking API.
    heading("2. booking.v1.BookingService/RecordPayment  100.00 EUR")
    first_payment = booking_pb2.RecordPaymentRequest(
        booking_id=booking_id,
        payment_id=f"pay-{run_id}-1",
        amount="100.00",
        currency="EUR",
        paid_at=now(),
        request_id=f"pay-{run_id}-1",
    )
    paid = call(checks, "RecordPayment", bookings.RecordPayment, first_payment, metadata)
    expect_accepted(checks, paid, "RecordPayment", ["PaymentRecorded"])

    # 3. Second payment, as the payment provider's notification, in minor units.
    heading("3. payments.v1.PaymentNotificationService/NotifyPaymentSucceeded  20000 minor EUR")
    notified = call(checks, "NotifyPaymentSucceeded", payments.NotifyPaymentSucceeded, payments_pb2.NotifyPaymentSucceededRequest(
        provider_payment_id=f"prov-{run_id}",
        booking_reference=booking_id,
        amount_minor=20000,
        currency="EUR",
        occurred_at=now(),
    ), metadata)
    expect_accepted(checks, notified, "NotifyPaymentSucceeded", ["PaymentRecorded", "BookingFullyPaid"])

    # 4. Retry of the first payment: the stored result comes back, not a new execution.
    heading(f"4. RecordPayment again with request_id {first_payment.request_id!r} (a client retry)")
    replay = call(checks, "RecordPayment replay", bookings.RecordPayment, first_payment, metadata)
    if replay is not None:
        print_result(replay)
        checks.equal(status_name(replay.status), "ACCEPTED", "replay: status")
        checks.equal(replay.replayed, True, "replay: replayed")
        if paid is not None:
            checks.equal(replay.revision, paid.revision, "replay: revision (the original's)")
            checks.equal(replay.command_id, paid.command_id, "replay: command_id (the original's)")
            checks.equal([e.id for e in replay.events], [e.id for e in paid.events], "replay: event ids (the original's)")

    # 5. An amount with more decimals than EUR has.
    heading('5. RecordPayment with amount "12.345" (EUR has 2 decimals)')
    try:
        bad = bookings.RecordPayment(booking_pb2.RecordPaymentRequest(
            booking_id=booking_id,
            payment_id=f"pay-{run_id}-bad",
            amount="12.345",
            currency="EUR",
            paid_at=now(),
            request_id=f"pay-{run_id}-bad",
        ), timeout=DEADLINE_S, metadata=metadata)
        print_result(bad)
        checks.expect(False, "bad amount fails with INVALID_ARGUMENT", "OK")
    except grpc.RpcError as error:
        details = Details(error)
        details.print()
        checks.equal(details.code, grpc.StatusCode.INVALID_ARGUMENT, "bad amount: status code")
        if checks.expect(details.status is not None, f"bad amount: {DETAILS_KEY} present"):
            checks.equal(details.status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0], "bad amount: google.rpc.Status.code")
        info = details.error_info
        if checks.expect(info is not None, "bad amount: ErrorInfo present"):
            checks.equal(info.domain, ERROR_DOMAIN, "bad amount: ErrorInfo.domain")
            checks.equal(info.reason, "VALIDATION_FAILED", "bad amount: ErrorInfo.reason")
        if checks.expect(details.bad_request is not None, "bad amount: BadRequest present"):
            fields = [v.field for v in details.bad_request.field_violations]
            checks.expect("amount" in fields, 'bad amount: BadRequest names field "amount"', fields)
        result = details.result
        if checks.expect(result is not None, "bad amount: CommandResult present"):
            checks.equal(status_name(result.status), "INVALID", "bad amount: CommandResult.status")
            fields = [v.field for v in result.validation_errors]
            checks.expect("amount" in fields, 'bad amount: CommandResult.validation_errors names "amount"', fields)
            checks.equal(len(result.events), 0, "bad amount: no events written")

    # 6. The stream, as the event store has it.
    heading(f"6. switchyard.eventstore.v1.EventStoreService/ReadStream  {stream_id}")
    stream = call(checks, "ReadStream", events.ReadStream, eventstore_pb2.ReadStreamRequest(stream_id=stream_id, from_revision=1), metadata)
    if stream is not None:
        for event in stream.events:
            print(f"  r{event.revision} {event.type:<18} pos {event.global_position:<5} command {event.metadata.command_type:<22} {struct_text(event.data)}")
        print(f"  stream_revision {stream.stream_revision}")
        # The confirm-paid-bookings reaction appends BookingConfirmed once it gets to the booking.
        types = [e.type for e in stream.events]
        if types[len(EXPECTED_EVENTS):] == ["BookingConfirmed"]:
            types = types[: len(EXPECTED_EVENTS)]
        checks.equal(types, EXPECTED_EVENTS, "stream: event types (then BookingConfirmed, maybe)")
        checks.equal(stream.stream_revision, len(stream.events), "stream: stream_revision")

    # 7. The booking's state.
    heading("7. booking.v1.BookingService/GetBooking")
    state = call(checks, "GetBooking", bookings.GetBooking, booking_pb2.GetBookingRequest(booking_id=booking_id), metadata)
    if state is not None:
        print(f"  status {state.status}   price {state.price} {state.currency}   paid {state.paid}   outstanding {state.outstanding}")
        print(f"  payments {list(state.payment_ids)}   revision {state.revision}")
        checks.equal(state.status if state.status != "confirmed" else "fully_paid", "fully_paid", "booking: status (fully_paid, or confirmed by the reaction)")
        checks.equal(state.paid, "300.00", "booking: paid")
        checks.equal(state.outstanding, "0.00", "booking: outstanding")

    channel.close()
    return checks


def main(argv: list[str]) -> int:
    if len(argv) != 2 or ":" not in argv[1] or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: book_and_pay.py HOST:PORT\n")
        return 2
    checks = run(argv[1])
    print()
    if checks.failures:
        print(f"FAILED: {len(checks.failures)} of {checks.passed + len(checks.failures)} expectations")
        for failure in checks.failures:
            print(f"  - {failure}")
        return 1
    print(f"PASSED: all {checks.passed} expectations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
