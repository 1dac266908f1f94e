#!/usr/bin/env bash
# Generates the Python protobuf + gRPC modules for Switchyard's APIs into clients/python/gen/.
#
# Sources: proto/ (Switchyard's own APIs) and .proto-deps/google/rpc (google.rpc.Status,
# ErrorInfo, BadRequest, ...; copied from npm by scripts/third-party-protos.mjs).
# google/protobuf well-known types come from protoc's own include dir (/usr/include) and
# from the python3-protobuf runtime, so they are not generated here.
#
# .proto-deps/grpc/** (health, reflection) is deliberately NOT generated: its Python
# package would be `grpc.health.v1`, which the installed grpcio package shadows, so the
# modules could never be imported.
#
# protoc emits absolute imports (`from booking.v1 import booking_pb2`), so put gen/ on
# sys.path (book_and_pay.py does). gen/ gets no __init__.py files on purpose: `google` must
# stay a namespace package so gen/google/rpc merges with the installed google.protobuf.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/gen"

PROTOC="${PROTOC:-protoc}"
GRPC_PLUGIN="${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}"
WKT_INCLUDE="${WKT_INCLUDE:-/usr/include}"

command -v "$PROTOC" >/dev/null || { echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
[[ -x "$GRPC_PLUGIN" ]] || { echo "generate.sh: $GRPC_PLUGIN not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }
[[ -f "$WKT_INCLUDE/google/protobuf/timestamp.proto" ]] || { echo "generate.sh: no well-known types under $WKT_INCLUDE" >&2; exit 1; }

# Third-party protos (git-ignored): fetch them on a fresh checkout. Not re-run when present,
# because the script deletes and rewrites .proto-deps/, which other tools may be reading.
if [[ ! -f "$root/.proto-deps/google/rpc/status.proto" || ! -f "$root/.proto-deps/google/rpc/error_details.proto" ]]; then
  (cd "$root" && node scripts/third-party-protos.mjs)
fi

rm -rf "$out"
mkdir -p "$out"

mapfile -t own < <(cd "$root/proto" && find . -name '*.proto' -printf '%P\n' | sort)
mapfile -t deps < <(cd "$root/.proto-deps" && find google -name '*.proto' -printf '%P\n' | sed 's|^|google/|' | sort)

# Files are named relative to their -I root; google/rpc has no services, so it gets no _grpc.py.
"$PROTOC" -I "$root/proto" -I "$root/.proto-deps" -I "$WKT_INCLUDE" \
  --plugin=protoc-gen-grpc_python="$GRPC_PLUGIN" \
  --python_out="$out" --grpc_python_out="$out" \
  "${own[@]}" "${deps[@]}"
rm -f "$out"/google/rpc/*_pb2_grpc.py

echo "generated $(find "$out" -name '*.py' | wc -l) modules into ${out#"$root"/}"
