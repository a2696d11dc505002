#!/usr/bin/env bash
# What can be checked of the Docker image without a Docker engine:
#  1. the build stage's cargo command, taken from the Dockerfile, succeeds as written;
#  2. the entrypoint and default command, taken from the Dockerfile, are accepted by our CLI
#     and start a server that answers;
#  3. the HEALTHCHECK command, taken from the Dockerfile, passes against that running server
#     and fails once it is gone;
#  4. the binary that would be copied in is small enough for an image under 40 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "docker-check: $*" >&2; exit 1; }

build_cmd=$(grep -E '^RUN cargo build' Dockerfile | sed 's/^RUN //') || fail "no 'RUN cargo build' line in Dockerfile"
# The build stage sees only what its COPY lines bring in: rebuild that context in a
# temporary folder, so a file the build needs but the Dockerfile forgets fails here.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
while read -r src; do
  [ -e "$src" ] || fail "the Dockerfile copies $src, which does not exist"
  mkdir -p "$context/$(dirname "$src")"
  cp -r "$src" "$context/$src"
done < <(python3 - <<'PY'
# Sources of every COPY without --from (the last word is the destination).
for line in open("Dockerfile"):
    words = line.split()
    if words[:1] == ["COPY"] and not words[1].startswith("--"):
        print("\n".join(words[1:-1]))
PY
)
echo "==> docker-check: build stage, in a context of the COPY lines only: $build_cmd"
# The repository's target folder keeps the dependencies compiled between runs.
repo=$PWD
(cd "$context" && export CARGO_TARGET_DIR="$repo/target" && eval "$build_cmd")
bin=target/release/totp-toolset
[ -x "$bin" ] || fail "the build stage did not produce $bin"

# JSON-array forms of ENTRYPOINT, CMD and HEALTHCHECK CMD, turned into argument lists.
json_args() { python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])))' "$1"; }
entry=$(grep -E '^ENTRYPOINT \[' Dockerfile | sed 's/^ENTRYPOINT //') || fail "ENTRYPOINT must be a JSON array"
cmd=$(grep -E '^CMD \[' Dockerfile | sed 's/^CMD //') || fail "CMD must be a JSON array"
health=$(grep -A1 -E '^HEALTHCHECK' Dockerfile | grep -oE 'CMD \[.*\]' | sed 's/^CMD //') || fail "HEALTHCHECK CMD must be a JSON array"
mapfile -t entry_args < <(json_args "$entry")
mapfile -t cmd_args < <(json_args "$cmd")
mapfile -t health_args < <(json_args "$health")
[ "${entry_args[0]}" = /usr/local/bin/totp-toolset ] || fail "ENTRYPOINT must run /usr/local/bin/totp-toolset"
[ "${health_args[0]}" = /usr/local/bin/totp-toolset ] || fail "HEALTHCHECK must run /usr/local/bin/totp-toolset"

# The image sets TOTP_TOOLSET_BIND=0.0.0.0:8080; here we keep to loopback and a free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export TOTP_TOOLSET_BIND="127.0.0.1:$port"
log=$(mktemp)
echo "==> docker-check: entrypoint: ${entry_args[*]:1} ${cmd_args[*]} (bind $TOTP_TOOLSET_BIND)"
"$bin" "${entry_args[@]:1}" "${cmd_args[@]}" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"; rm -rf "$context"' EXIT
for _ in $(seq 1 100); do
  grep -q "http://" "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; fail "the entrypoint exited"; }
  sleep 0.1
done

echo "==> docker-check: healthcheck: ${health_args[*]:1}"
"$bin" "${health_args[@]:1}" || { cat "$log"; fail "HEALTHCHECK failed against a running server"; }
kill "$server"; wait "$server" 2>/dev/null || true
if "$bin" "${health_args[@]:1}" 2>/dev/null; then fail "HEALTHCHECK passed with no server running"; fi

size=$(stat -c %s "$bin")
echo "==> docker-check: binary is $((size / 1024 / 1024)) MB"
# distroless/cc is about 23 MB; the binary must leave room for a 40 MB image.
[ "$size" -lt $((16 * 1024 * 1024)) ] || fail "binary is $size bytes; the image would pass 40 MB"
echo "docker-check: ok"
