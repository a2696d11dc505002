#!/usr/bin/env bash
# Compares `totp-toolset convert` with a straightforward Python script (csv + base64) on the
# CLI's speed target: 100,000 tokens, a vendor CSV with hex seeds -> Entra CSV with UPNs
# assigned in serial order. Prints both times (best of RUNS), the ratio, and our peak memory
# (/usr/bin/time -v when present, else VmHWM from /proc). Both outputs must be identical.
# It also times bench/convert_floor.rs, a program doing the least work this job needs, on
# one core (built with `rustc -O`; FLOOR=0 skips it): how far any ratio can go here.
#
#   bash bench/convert.sh            # builds the release binary first
#   TOKENS=10000 RUNS=5 bash bench/convert.sh
#   TOTP_TOOLSET_BIN=/path/to/totp-toolset bash bench/convert.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TOKENS=${TOKENS:-100000}
RUNS=${RUNS:-3}
PY=${PYTHON:-python3}
# A pyenv shim is a shell script that starts pyenv before Python (~0.2 s on a loaded
# machine): timed through it, Python would be charged for pyenv. Time the interpreter itself.
if [[ "$(command -v "$PY")" == */shims/* ]] && command -v pyenv >/dev/null; then
  PY=$(pyenv which "$PY")
fi
BIN=${TOTP_TOOLSET_BIN:-}
if [[ -z "$BIN" ]]; then
  cargo build --release --quiet
  BIN=target/release/totp-toolset
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The input: a Token2-style file (BOM, ';', CRLF, serials with leading zeros, hex seeds)
# and one UPN per line. The seeds are random test data, deleted on exit.
"$PY" - "$WORK" "$TOKENS" <<'PYEOF'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(work, "seeds.csv"), "w", newline="", encoding="utf-8-sig") as f:
    f.write("Serial Number;Secret Key;TimeInterval;Manufacturer;Model\r\n")
    for i in range(n):
        f.write("%08d;%s;30;Token2;C202\r\n" % (n - i, os.urandom(20).hex()))
with open(os.path.join(work, "users.txt"), "w") as f:
    for i in range(n):
        f.write("user%d@contoso.com\n" % i)
PYEOF

# The straightforward Python way: read, sort by serial, assign, hex -> base32, write.
cat > "$WORK/convert.py" <<'PYEOF'
import base64, csv, sys
seeds, users, out = sys.argv[1:4]
with open(seeds, newline="", encoding="utf-8-sig") as f:
    rows = list(csv.DictReader(f, delimiter=";"))
with open(users) as f:
    upns = [l.strip() for l in f if l.strip()]
# Users go to the tokens in serial order; the file keeps the input's order.
for r, upn in zip(sorted(rows, key=lambda r: int(r["Serial Number"])), upns):
    r["upn"] = upn
with open(out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["upn", "serial number", "secret key", "time interval", "manufacturer", "model"])
    for r in rows:
        upn = r["upn"]
        b32 = base64.b32encode(bytes.fromhex(r["Secret Key"])).decode().rstrip("=")
        w.writerow([upn, r["Serial Number"], b32, r["TimeInterval"], r["Manufacturer"], r["Model"]])
PYEOF

# Seconds (wall) and peak RSS in kB of one command.
measure() {
  if [[ -x /usr/bin/time ]]; then
    local start end kb cpu
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$WORK/time.txt" "$@" 2>/dev/null >/dev/null
    end=$(date +%s.%N)
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$WORK/time.txt")
    echo "$(awk "BEGIN {print $end - $start}") $kb $cpu"
  else
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 &
    local pid=$! peak=0 hwm
    while kill -0 "$pid" 2>/dev/null; do
      hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      [[ -n "$hwm" && "$hwm" -gt "$peak" ]] && peak=$hwm
      sleep 0.005
    done
    wait "$pid"
    end=$(date +%s.%N)
    echo "$(awk "BEGIN {print $end - $start}") $peak -"
  fi
}

# Best wall time of RUNS (with the CPU seconds of that run) and the highest peak memory.
best() {
  local best_s="" best_cpu="-" best_kb=0 s kb cpu
  for _ in $(seq "$RUNS"); do
    rm -f "$WORK/out-"*
    read -r s kb cpu < <(measure "$@")
    if [[ -z "$best_s" ]] || awk "BEGIN {exit !($s < $best_s)}"; then best_s=$s; best_cpu=$cpu; fi
    (( kb > best_kb )) && best_kb=$kb
  done
  echo "$best_s $best_kb $best_cpu"
}

read -r ours_s ours_kb ours_cpu < <(best "$BIN" convert "$WORK/seeds.csv" --to entra-csv --assign "$WORK/users.txt" -o "$WORK/out-ours.csv")
"$BIN" convert "$WORK/seeds.csv" --to entra-csv --assign "$WORK/users.txt" -o "$WORK/ours.csv" 2>/dev/null
floor_s=""
if [[ "${FLOOR:-1}" != 0 ]] && command -v rustc >/dev/null; then
  rustc --edition 2024 -O bench/convert_floor.rs -o "$WORK/floor"
  read -r floor_s floor_kb floor_cpu < <(best "$WORK/floor" "$WORK/seeds.csv" "$WORK/users.txt" "$WORK/out-floor.csv")
  "$WORK/floor" "$WORK/seeds.csv" "$WORK/users.txt" "$WORK/floor.csv"
fi
read -r py_s py_kb py_cpu < <(best "$PY" "$WORK/convert.py" "$WORK/seeds.csv" "$WORK/users.txt" "$WORK/out-py.csv")
"$PY" "$WORK/convert.py" "$WORK/seeds.csv" "$WORK/users.txt" "$WORK/py.csv"

if ! cmp -s "$WORK/ours.csv" "$WORK/py.csv"; then
  echo "outputs differ:" >&2
  diff <(head -3 "$WORK/ours.csv") <(head -3 "$WORK/py.csv") >&2 || true
  exit 1
fi
if [[ -n "$floor_s" ]] && ! cmp -s "$WORK/floor.csv" "$WORK/py.csv"; then
  echo "the floor probe's output differs from Python's" >&2
  exit 1
fi
echo "tokens:        $TOKENS (hex seeds -> Entra CSV, UPNs assigned; outputs identical)"
echo "totp-toolset:  ${ours_s}s wall, ${ours_cpu}s CPU, peak ${ours_kb} kB ($(( ours_kb / 1024 )) MiB)"
echo "python (csv):  ${py_s}s wall, ${py_cpu}s CPU, peak ${py_kb} kB ($PY, $("$PY" --version 2>&1))"
awk "BEGIN {printf \"ratio:         %.1fx faster (wall clock)\n\", $py_s / ($ours_s > 0 ? $ours_s : 0.001)}"
if [[ "$ours_cpu" != "-" && "$py_cpu" != "-" ]]; then
  awk "BEGIN {printf \"ratio:         %.1fx less CPU time (user + system)\n\", $py_cpu / ($ours_cpu > 0 ? $ours_cpu : 0.001)}"
fi
if [[ -n "$floor_s" ]]; then
  echo "floor probe:   ${floor_s}s wall, ${floor_cpu}s CPU, peak ${floor_kb} kB (bench/convert_floor.rs: no checks, no batch)"
  awk "BEGIN {printf \"floor ratio:   %.1fx faster than Python for a program doing only this job (wall clock)\n\", $py_s / ($floor_s > 0 ? $floor_s : 0.001)}"
fi
