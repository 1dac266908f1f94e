#!/usr/bin/python3
"""Follow Switchyard's events with Subscribe, saving a checkpoint and resuming from it.

Usage: follow_events.py HOST:PORT [CHECKPOINT_FILE]

What a consumer (a billing service, a search index) does:

  1. reads the checkpoint file (absent: start from the beginning),
  2. subscribes after that position with no deadline (a catch-up over a large store takes as
     long as it takes), handles each event, and saves its place every 1,000 events, at every
     checkpoint message it is told (so a filter that rarely matches still moves its place
     forward) and when it has caught up,
  3. stops at caught_up here (a real consumer stays on and keeps receiving live events).

Run as a check, it does this twice around a booking made in between, and verifies that the
second run, resuming from the saved position, sees exactly the new booking's event: no
event twice, none missed. It also follows the stream live: a booking made while it is
subscribed arrives on the open stream. Exits 1 when an expectation fails, 2 on bad usage
or an unreachable server.

Needs the modules generate.sh writes into gen/ and Debian's python3-grpcio and
python3-protobuf (run it with /usr/bin/python3).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "gen"))

try:
    import grpc

    from booking.v1 import booking_pb2, booking_pb2_grpc
    from switchyard.eventstore.v1 import eventstore_pb2, eventstore_pb2_grpc
except ImportError as error:  # pragma: no cover - environment problem, not a check
    sys.stderr.write(f"follow_events.py: {error}\n  run clients/python/generate.sh first, and use /usr/bin/python3\n")
    sys.exit(2)

DEADLINE_S = 10.0
# Saving after every event would make a long catch-up crawl: a consumer saves every so often,
# and handles an event again after a crash at most this many events back (at-least-once).
SAVE_EVERY = 1000


def load_checkpoint(path: str) -> int | None:
    """The saved position, or None when nothing was saved yet."""
    try:
        with open(path, encoding="utf-8") as file:
            return int(file.read().strip())
    except FileNotFoundError:
        return None


def save_checkpoint(path: str, position: int) -> None:
    """Writes the position atomically: a crash leaves the old one or the new one."""
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(str(position))
    os.replace(temporary, path)


def subscribe_request(position: int | None) -> eventstore_pb2.SubscribeRequest:
    if position is None:
        return eventstore_pb2.SubscribeRequest(from_start=True)
    return eventstore_pb2.SubscribeRequest(after_position=position)


def follow_until_caught_up(events: eventstore_pb2_grpc.EventStoreServiceStub, checkpoint_file: str) -> list[eventstore_pb2.Event]:
    """One consumer run: resume from the checkpoint, handle events, save positions, stop at caught_up."""
    handled: list[eventstore_pb2.Event] = []
    place = load_checkpoint(checkpoint_file)
    stream = events.Subscribe(subscribe_request(place))
    try:
        for message in stream:
            kind = message.WhichOneof("message")
            if kind == "event":
                handled.append(message.event)
                place = message.event.global_position
                if len(handled) % SAVE_EVERY == 0:
                    save_checkpoint(checkpoint_file, place)
            elif kind == "checkpoint":
                place = message.checkpoint.position
                save_checkpoint(checkpoint_file, place)
            elif kind == "caught_up":
                if place is not None:
                    save_checkpoint(checkpoint_file, place)
                break
    finally:
        stream.cancel()
    return handled


def book(bookings: booking_pb2_grpc.BookingServiceStub, booking_id: str) -> None:
    bookings.BookRoom(
        booking_pb2.BookRoomRequest(
            booking_id=booking_id, room_id=f"R-{booking_id}", guest_id="G-follow", check_in="2030-03-01", check_out="2030-03-02",
            amount="90.00", currency="EUR", request_id=f"follow-{booking_id}",
        ),
        timeout=DEADLINE_S,
    )


def expect(ok: bool, what: str) -> None:
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        sys.exit(1)


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        sys.exit(2)
    address = sys.argv[1]
    checkpoint_file = sys.argv[2] if len(sys.argv) == 3 else os.path.join(tempfile.mkdtemp(), "checkpoint")
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=DEADLINE_S)
    except grpc.FutureTimeoutError:
        sys.stderr.write(f"follow_events.py: cannot reach {address}\n")
        sys.exit(2)
    events = eventstore_pb2_grpc.EventStoreServiceStub(channel)
    bookings = booking_pb2_grpc.BookingServiceStub(channel)

    first = follow_until_caught_up(events, checkpoint_file)
    saved = load_checkpoint(checkpoint_file)
    print(f"first run: {len(first)} events, checkpoint {saved}")
    positions = [e.global_position for e in first]
    expect(positions == sorted(set(positions)), "the first run's positions rise, with no event twice")

    booking_id = f"F-{uuid.uuid4().hex[:8]}"
    book(bookings, booking_id)
    second = follow_until_caught_up(events, checkpoint_file)
    print(f"second run: {[f'{e.stream_id} {e.type} @{e.global_position}' for e in second]}")
    room = [e.stream_id for e in second if e.type == "NightsReserved"]
    expect(
        [(e.stream_id, e.type) for e in second] == [(f"booking-{booking_id}", "RoomBooked"), (room[0] if room else "", "NightsReserved")],
        "resuming from the checkpoint sees exactly the new booking: RoomBooked, then its room's NightsReserved",
    )
    expect(all(e.global_position > (saved or 0) for e in second), "nothing at or before the checkpoint came again")

    # Live: subscribe from now, book while the stream is open, and receive it on the stream.
    live_id = f"L-{uuid.uuid4().hex[:8]}"
    stream = events.Subscribe(eventstore_pb2.SubscribeRequest(from_now=True, event_types=["RoomBooked"]), timeout=DEADLINE_S)
    received: list[str] = []
    try:
        for message in stream:
            kind = message.WhichOneof("message")
            if kind == "caught_up":
                threading.Thread(target=book, args=(bookings, live_id)).start()
            elif kind == "event":
                received.append(message.event.stream_id)
                break
    finally:
        stream.cancel()
    expect(received == [f"booking-{live_id}"], "a booking made while subscribed arrives live on the open stream")
    print("follow_events.py: OK")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as error:
        sys.stderr.write(f"follow_events.py: {error.code().name}: {error.details()}\n")
        sys.exit(1)
