#!/usr/bin/python3
"""List bookings page by page with ListBookings, as a front desk or a guest's app would.

Usage: list_bookings.py HOST:PORT

  1. books a few rooms for one new guest, on different check-in days,
  2. lists that guest's bookings ordered by check-in, a small page at a time, passing each
     next_page_token on until it comes back empty, with min_position set to the last
     booking's global_position (read-your-writes: the list includes it),
  3. checks every booking came back exactly once, in check-in order,
  4. lists only one check-in range, and reads one booking through the generic
     switchyard.query.v1 QueryService (its document as a Struct),
  5. sends an altered page token and expects INVALID_ARGUMENT naming page_token.

Exits 1 when an expectation fails, 2 on bad usage or an unreachable server. Needs the
modules generate.sh writes into gen/ and Debian's python3-grpcio and python3-protobuf.
"""

from __future__ import annotations

import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "gen"))

try:
    import grpc

    from booking.v1 import booking_pb2, booking_pb2_grpc
    from google.rpc import error_details_pb2, status_pb2
    from switchyard.query.v1 import query_pb2, query_pb2_grpc
except ImportError as error:  # pragma: no cover - environment problem, not a check
    sys.stderr.write(
        f"list_bookings.py: {error}\n"
        "  run clients/python/generate.sh first, and use /usr/bin/python3 with\n"
        "  apt-get install python3-grpcio python3-protobuf\n"
    )
    sys.exit(2)

DEADLINE_S = 10.0
PAGE_SIZE = 3
DAYS = ["2031-03-05", "2031-03-01", "2031-03-09", "2031-03-03", "2031-03-07", "2031-03-02", "2031-03-08"]


def bad_request_fields(error: grpc.RpcError) -> list[str]:
    """The field names of the BadRequest detail in grpc-status-details-bin, if any."""
    raw = next((value for key, value in (error.trailing_metadata() or ()) if key == "grpc-status-details-bin"), None)
    if raw is None:
        return []
    fields: list[str] = []
    for detail in status_pb2.Status.FromString(raw).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields += [violation.field for violation in bad_request.field_violations]
    return fields


def run(target: str) -> list[str]:
    failures: list[str] = []

    def expect(ok: bool, what: str, got: object = None) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'}  {what}" + ("" if ok or got is None else f" (got {got!r})"))
        if not ok:
            failures.append(what)

    channel = grpc.insecure_channel(target)
    try:
        grpc.channel_ready_future(channel).result(timeout=DEADLINE_S)
    except grpc.FutureTimeoutError:
        sys.stderr.write(f"list_bookings.py: no gRPC server at {target} after {DEADLINE_S:.0f}s\n")
        sys.exit(2)
    bookings = booking_pb2_grpc.BookingServiceStub(channel)
    queries = query_pb2_grpc.QueryServiceStub(channel)
    run_id = uuid.uuid4().hex[:10]
    guest = f"guest-{run_id}"

    print(f"\n== 1. book {len(DAYS)} rooms for {guest}")
    position = 0
    ids: dict[str, str] = {}
    for i, day in enumerate(DAYS):
        booking_id = f"list-{run_id}-{i}"
        result = bookings.BookRoom(booking_pb2.BookRoomRequest(
            booking_id=booking_id, room_id=f"room-{i}", guest_id=guest, check_in=day, check_out="2031-03-20",
            price="90.00", currency="EUR", request_id=f"book-{booking_id}",
        ), timeout=DEADLINE_S)
        position = max(position, result.global_position)
        ids[booking_id] = day
        print(f"  {booking_id}  check-in {day}  global position {result.global_position}")

    print(f"\n== 2. ListBookings guest_id={guest} order_by=check_in page_size={PAGE_SIZE} min_position={position}")
    listed: list[booking_pb2.Booking] = []
    token = ""
    pages = 0
    while True:
        page = bookings.ListBookings(booking_pb2.ListBookingsRequest(
            guest_id=guest, order_by="check_in", page_size=PAGE_SIZE, page_token=token, min_position=position,
        ), timeout=DEADLINE_S)
        pages += 1
        print(f"  page {pages}: {[b.booking_id for b in page.bookings]}  next_page_token {'(none)' if not page.next_page_token else page.next_page_token[:16] + '...'}")
        listed += page.bookings
        expect(len(page.bookings) <= PAGE_SIZE, f"page {pages} holds at most {PAGE_SIZE}", len(page.bookings))
        if not page.next_page_token:
            break
        if pages == 1:
            first_token = page.next_page_token
        token = page.next_page_token
        if pages > len(DAYS):
            break

    print("\n== 3. every booking exactly once, in check-in order")
    expect(sorted(b.booking_id for b in listed) == sorted(ids), "each booking listed exactly once", [b.booking_id for b in listed])
    expect([b.check_in for b in listed] == sorted(DAYS), "ordered by check-in", [b.check_in for b in listed])
    expect(all(b.status == "booked" and b.price == "90.00" and b.currency == "EUR" for b in listed), "status booked, price 90.00 EUR")
    expect(pages == -(-len(DAYS) // PAGE_SIZE), f"{-(-len(DAYS) // PAGE_SIZE)} pages", pages)

    print("\n== 4. one check-in range; one document through QueryService")
    ranged = bookings.ListBookings(booking_pb2.ListBookingsRequest(
        guest_id=guest, check_in_from="2031-03-03", check_in_before="2031-03-08", order_by="check_in desc",
    ), timeout=DEADLINE_S)
    expect([b.check_in for b in ranged.bookings] == ["2031-03-07", "2031-03-05", "2031-03-03"], "2031-03-03 <= check-in < 2031-03-08, latest first",
           [b.check_in for b in ranged.bookings])
    some_id = next(iter(ids))
    document = queries.Fetch(query_pb2.FetchRequest(collection="bookings", id=some_id), timeout=DEADLINE_S).document
    expect(document.id == some_id and document.data["guestId"] == guest, f"QueryService.Fetch bookings/{some_id} has guestId {guest}", document.data)

    print("\n== 5. an altered page token")
    forged = first_token[:-2] + ("AA" if first_token[-2:] != "AA" else "BB")
    try:
        bookings.ListBookings(booking_pb2.ListBookingsRequest(guest_id=guest, order_by="check_in", page_size=PAGE_SIZE, page_token=forged), timeout=DEADLINE_S)
        expect(False, "an altered token is refused", "OK")
    except grpc.RpcError as error:
        print(f"  {error.code().name}: {error.details()}")
        expect(error.code() == grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", error.code().name)
        expect(bad_request_fields(error) == ["page_token"], "BadRequest names page_token", bad_request_fields(error))

    channel.close()
    return failures


def main(argv: list[str]) -> int:
    if len(argv) != 2 or ":" not in argv[1] or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: list_bookings.py HOST:PORT\n")
        return 2
    failures = run(argv[1])
    print()
    if failures:
        print(f"FAILED: {len(failures)} expectations: {failures}")
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
