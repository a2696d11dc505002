#!/usr/bin/env bash
# End to end through the real PC/SC stack, no hardware: pcscd + vsmartcard-vpcd give a reader
# ("Virtual PCD 00 00") whose card is our `totp-toolset virtual-token`. Both `totp-toolset burn`
# and the agent (on the same reader) burn it for every algorithm and period these tokens
# support, and after each burn the codes the virtual token would display (it prints them as
# a JSON line, never the seed) must equal the codes we printed. Then `burn --bulk` burns a
# stack of virtual tokens on the second vpcd reader, one lifted mid-write and one tapped twice,
# and every row's seed in the --out file must give (oathtool) the codes its token shows; and
# the same through a second agent and the web server's bulk panel (as its page script drives
# it; of two tokens tapped twice one is burned again, the other skipped), every row's seed
# taken from the batch's privacyIDEA export.
#
# Fails loudly when anything is missing. Run as root (pcscd), after `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "pcsc-e2e: FAIL: $*" >&2; exit 1; }
step() { echo "==> pcsc-e2e: $*"; }
# Prints the URL a server wrote in its output file $1 (sed script $2 picks it out), waiting
# up to 20 s for it to start; fails when it does not.
listening() {
  local found=""
  for _ in $(seq 1 80); do
    found="$(sed -n "$2" "$1")"
    [ -n "$found" ] && { echo "$found"; return 0; }
    sleep 0.25
  done
  return 1
}

for cmd in pcscd jq curl oathtool; do
  command -v "$cmd" >/dev/null || die "'$cmd' is not installed (apt-get install pcscd jq curl oathtool)"
done
[ -f /etc/reader.conf.d/vpcd ] || die "vsmartcard-vpcd is not installed (no /etc/reader.conf.d/vpcd)"
pkg-config --exists libpcsclite 2>/dev/null || [ -f /usr/include/PCSC/winscard.h ] \
  || die "libpcsclite-dev is not installed"

step "cargo build --features pcsc"
cargo build --quiet --features pcsc
bin="$PWD/target/debug/totp-toolset"
reader="Virtual PCD 00 00"

work="$(mktemp -d)"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for f in "$work"/*.log "$work"/*.out; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Signals end the script through `exit`, so the EXIT trap still stops every background process.
trap 'exit 130' INT TERM

if pgrep -x pcscd >/dev/null; then
  die "a pcscd is already running; stop it first so this test owns the vpcd reader"
fi
# vpcd listens on fixed ports (35963, 35964). A busy machine may have just used one of them
# as the local end of an outgoing connection (the ephemeral range includes them; the load
# harness makes thousands), and a socket lingering in TIME_WAIT there makes vpcd's bind fail
# ("Address already in use"). Wait, up to a little over TIME_WAIT's 60 s, until both are free.
for _ in $(seq 1 150); do
  ss -Htan '( sport = :35963 or sport = :35964 or dport = :35963 or dport = :35964 )' | grep -q . || break
  sleep 0.5
done
step "starting pcscd"
pcscd --foreground >"$work/pcscd.log" 2>&1 &
pids+=($!)

step "starting the virtual token on vpcd (127.0.0.1:35963)"
"$bin" virtual-token --vpcd 127.0.0.1:35963 --serial 8659600000001 --connect-timeout 20 \
  >"$work/vt.out" 2>"$work/vt.log" &
pids+=($!)

# pcscd polls vpcd: wait until the reader shows the card.
for _ in $(seq 1 80); do
  if "$bin" readers --json 2>/dev/null \
    | jq -e --arg r "$reader" '.readers[] | select(.name == $r and .card_present)' >/dev/null; then
    break
  fi
  sleep 0.25
done
"$bin" readers --json | jq -e --arg r "$reader" '.readers[] | select(.name == $r and .card_present)' \
  >/dev/null || die "pcscd does not show a card on '$reader'"

step "identify"
"$bin" identify --reader "$reader" --wait 5 --json >"$work/identify.out"
jq -e '.serial == "8659600000001" and .model == "miniOTP-2-i"' "$work/identify.out" >/dev/null \
  || die "identify returned $(cat "$work/identify.out")"

burned_lines() { grep -c '"event":"burned"' "$work/vt.out" || true; }

# $1: codes object we printed ({counter, previous, current, next}); $2: algorithm; $3: period;
# $4: how many burned lines there were before this burn; $5: label.
compare() {
  local ours="$1" alg="$2" period="$3" before="$4" label="$5" line
  for _ in $(seq 1 40); do
    [ "$(burned_lines)" -gt "$before" ] && break
    sleep 0.25
  done
  [ "$(burned_lines)" -gt "$before" ] || die "$label: the virtual token reported no burn"
  line="$(grep '"event":"burned"' "$work/vt.out" | tail -n 1)"
  jq -e --argjson ours "$ours" --arg alg "$alg" --argjson period "$period" '
      (.codes | map({key: (.counter | tostring), value: .code}) | from_entries) as $shown
      | .algorithm == $alg and .period == $period and .digits == 6
        and $shown[($ours.counter - 1 | tostring)] == $ours.previous
        and $shown[($ours.counter | tostring)] == $ours.current
        and $shown[($ours.counter + 1 | tostring)] == $ours.next' <<<"$line" >/dev/null \
    || die "$label: token shows $line, we computed $ours"
  echo "    $label: token codes match ours (counter $(jq -r .counter <<<"$ours"), current $(jq -r .current <<<"$ours"))"
}

step "totp-toolset burn, every algorithm and period"
for alg in SHA1 SHA256; do
  for period in 30 60; do
    seed="$("$bin" seed)"
    before="$(burned_lines)"
    out="$(printf '%s\n' "$seed" | "$bin" burn - --reader "$reader" --wait 5 \
      --algorithm "$alg" --period "$period" --json 2>"$work/burn.log")" \
      || die "burn $alg/$period failed: $(cat "$work/burn.log")"
    jq -e '.serial == "8659600000001"' <<<"$out" >/dev/null || die "burn printed $out"
    compare "$(jq -c .codes <<<"$out")" "$alg" "$period" "$before" "cli $alg/$period"
  done
done

step "starting the agent on the same reader"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/agent-token"
"$bin" agent --bind 127.0.0.1:0 --reader "$reader" --token-file "$work/agent-token" \
  >"$work/agent.out" 2>"$work/agent.log" &
pids+=($!)
url="$(listening "$work/agent.out" 's/^listening on //p')" || die "the agent did not start"
# curl reads the header from a file, keeping the token out of the process list.
printf 'Authorization: Bearer %s\n' "$(cat "$work/agent-token")" >"$work/auth-header"
auth="@$work/auth-header"

status="$(curl -sS -H "$auth" "$url/v1/status")"
jq -e '.mode == "pcsc" and .card_present and .token.serial == "8659600000001"' <<<"$status" \
  >/dev/null || die "agent status: $status"
code="$(curl -sS -o /dev/null -w '%{http_code}' "$url/v1/status")"
[ "$code" = 401 ] || die "the agent answered $code without a token"
code="$(curl -sS -o /dev/null -w '%{http_code}' -H "$auth" -H 'Origin: http://evil.example' "$url/v1/status")"
[ "$code" = 403 ] || die "the agent answered $code to a request with an Origin"

step "agent burn, every algorithm and period"
for alg in SHA1 SHA256; do
  for period in 30 60; do
    seed="$("$bin" seed)"
    before="$(burned_lines)"
    # The body goes through stdin so the seed is not on curl's command line.
    out="$(jq -nc --arg s "$seed" --arg a "$alg" --argjson p "$period" \
        '{secret: $s, algorithm: $a, period: $p, wait_seconds: 5}' \
      | curl -sS -H "$auth" -H 'Content-Type: application/json' --data-binary @- "$url/v1/burn")"
    jq -e '.token.serial == "8659600000001"' <<<"$out" >/dev/null \
      || die "agent burn $alg/$period answered $out"
    compare "$(jq -c .codes <<<"$out")" "$alg" "$period" "$before" "agent $alg/$period"
  done
done

step "time-sync: asks first, sets the clock of a keeper, refuses a restricted model"
before="$(grep -c '"event":"configured"' "$work/vt.out")"
if printf 'n\n' | "$bin" time-sync --reader "$reader" --wait 5 --algorithm SHA256 --period 60 \
  >/dev/null 2>"$work/ts.log"; then
  die "time-sync wrote without a yes"
fi
[ "$(grep -c '"event":"configured"' "$work/vt.out")" = "$before" ] || die "time-sync wrote after a no"
out="$("$bin" time-sync --reader "$reader" --wait 5 --algorithm SHA256 --period 60 --yes --json \
  2>"$work/ts.log")" || die "time-sync failed: $(cat "$work/ts.log")"
jq -e '.serial == "8659600000001" and .seed_erased == false' <<<"$out" >/dev/null \
  || die "time-sync printed $out"
grep -q 'ahead of\|behind\|in step' "$work/ts.log" || die "time-sync did not show the offset first"
"$bin" virtual-token --vpcd 127.0.0.1:35964 --serial 8659601000099 >"$work/vt2.out" 2>&1 &
vt2=$!
pids+=("$vt2")
if "$bin" time-sync --reader "Virtual PCD 00 01" --wait 10 --yes >/dev/null 2>"$work/ts.log"; then
  die "time-sync wrote to a restricted model"
fi
grep -q 'erases its seed' "$work/ts.log" && grep -q 'burn' "$work/ts.log" \
  || die "time-sync refusal: $(cat "$work/ts.log")"
if grep -q '"event":"configured"' "$work/vt2.out"; then die "time-sync wrote to a restricted model"; fi
kill "$vt2"; wait "$vt2" 2>/dev/null || true
# Taking the restricted token away: wait until pcscd has seen the reader empty.
for _ in $(seq 1 40); do
  "$bin" readers --json | jq -e '.readers[] | select(.name == "Virtual PCD 00 01" and (.card_present | not))' \
    >/dev/null && break
  sleep 0.25
done
echo "    time-sync: keeper synced, restricted model refused with a re-burn offered"

step "burn --bulk: a stack of virtual tokens on the second vpcd reader"
bulk_reader="Virtual PCD 00 01"
cat >"$work/stack.txt" <<'STACK'
8659600000011
8659601000012 lift-mid-write   # lifted before it answers the seed write
8659601000012                  # tapped again: burned with a new seed
8659612000013
8659612000013                  # tapped twice: skipped, never a second row
8659632000014
8659622000015
STACK
"$bin" virtual-token --vpcd 127.0.0.1:35964 --stack "$work/stack.txt" \
  >"$work/stack.out" 2>"$work/stack.log" &
stack_pid=$!
pids+=("$stack_pid")
printf '%s\n' alice@contoso.com bob@contoso.com carol@contoso.com dave@contoso.com \
  erin@contoso.com >"$work/users.txt"
started="$(date +%s%N)"
"$bin" burn --bulk --count 5 --users "$work/users.txt" --out "$work/rows.csv" \
  --reader "$bulk_reader" --wait 20 --json >"$work/bulk.out" 2>"$work/bulk.log" \
  || die "burn --bulk failed: $(cat "$work/bulk.log")"
ended="$(date +%s%N)"
summary="$(grep '"event":"summary"' "$work/bulk.out")"
jq -e '.burned == 5 and .rows == 5 and .skipped == 1 and .failed == 0
       and .failed_attempts == 1' <<<"$summary" >/dev/null || die "bulk summary: $summary"
grep '"event":"failed"' "$work/bulk.out" \
  | jq -e 'select(.serial == "8659601000012" and .kind == "card_lifted_mid_write")' >/dev/null \
  || die "the token lifted mid-write was not reported as such: $(cat "$work/bulk.out")"
grep '"event":"skipped"' "$work/bulk.out" | jq -e 'select(.serial == "8659612000013")' >/dev/null \
  || die "the token tapped twice was not skipped"
[ "$(stat -c %a "$work/rows.csv")" = 600 ] || die "rows.csv is not mode 0600"
for _ in $(seq 1 40); do
  grep -q '"event":"done"' "$work/stack.out" && break
  sleep 0.25
done
grep -q '"event":"done"' "$work/stack.out" || die "the virtual token stack did not finish"

# Every row: the next user in order, a serial of its own, and a seed that gives the codes its
# token shows (oathtool, not our code) and the codes we printed for it.
tail -n +2 "$work/rows.csv" | tr -d '\r' >"$work/rows.body"
[ "$(wc -l <"$work/rows.body")" = 5 ] || die "rows.csv has $(wc -l <"$work/rows.body") rows, not 5"
[ "$(cut -d, -f2 "$work/rows.body" | sort -u | wc -l)" = 5 ] || die "a serial has two rows"
[ "$(cut -d, -f1 "$work/rows.body" | paste -sd' ')" = \
  "alice@contoso.com bob@contoso.com carol@contoso.com dave@contoso.com erin@contoso.com" ] \
  || die "users were not assigned in order: $(cut -d, -f1 "$work/rows.body" | paste -sd' ')"
while IFS=, read -r upn serial secret interval manufacturer model; do
  shown="$(grep '"event":"burned"' "$work/stack.out" | jq -c --arg s "$serial" 'select(.serial == $s)' \
    | tail -n 1)"
  [ -n "$shown" ] || die "$serial: the virtual token reports no burn"
  while read -r counter code; do
    ours="$(oathtool --totp -b -d 6 -s "${interval}s" -N "@$((counter * interval))" "$secret")"
    [ "$ours" = "$code" ] || die "$serial ($upn): token shows $code at step $counter, the row's seed gives $ours"
  done < <(jq -r '.codes[] | "\(.counter) \(.code)"' <<<"$shown")
  printed="$(grep '"event":"burned"' "$work/bulk.out" | jq -c --arg s "$serial" 'select(.serial == $s)' \
    | tail -n 1)"
  counter="$(jq -r .codes.counter <<<"$printed")"
  [ "$(oathtool --totp -b -d 6 -s "${interval}s" -N "@$((counter * interval))" "$secret")" \
    = "$(jq -r .codes.current <<<"$printed")" ] || die "$serial: the codes we printed are not the row's"
  echo "    $serial ($model, $upn): row seed matches the token's codes"
done <"$work/rows.body"
taps="$(grep -c '"event":"presented"' "$work/stack.out")"
echo "    bulk: $(jq -r .apdus_per_burn <<<"$summary") APDUs per burn," \
  "$(jq -r .ms_per_token <<<"$summary") ms of our time per token (card connected to result);" \
  "$taps taps in $(( (ended - started) / 1000000 )) ms wall time, pcscd's card polling included"

step "bulk burn through the agent and the web server's bulk panel: another stack of virtual tokens"
# The CLI's stack is over; its virtual token leaves vpcd's second reader to the next one.
kill "$stack_pid" 2>/dev/null || true
wait "$stack_pid" 2>/dev/null || true
cat >"$work/webstack.txt" <<'STACK'
8659600000021
8659601000022 lift-mid-write   # lifted before it answers the seed write: no row
8659601000022                  # tapped again: burned with a new seed
8659612000023
8659612000023 stay             # tapped twice and held there: the panel asks, we burn it again
8659632000024
8659632000024                  # tapped twice: the panel asks, and we skip it (never a second row)
8659622000025
STACK
"$bin" virtual-token --vpcd 127.0.0.1:35964 --stack "$work/webstack.txt" \
  >"$work/webstack.out" 2>"$work/webstack.log" &
pids+=($!)
NO_COLOR=1 "$bin" agent --bind 127.0.0.1:0 --reader "$bulk_reader" --token-file "$work/agent-token" \
  >"$work/agent2.out" 2>"$work/agent2.log" &
pids+=($!)
url2="$(listening "$work/agent2.out" 's/^listening on //p')" || die "the second agent did not start"
NO_COLOR=1 "$bin" serve --bind 127.0.0.1:0 --agent-url "$url2" --agent-token-file "$work/agent-token" \
  >"$work/web.out" 2>"$work/web.log" &
pids+=($!)
web="$(listening "$work/web.out" 's|^totp-toolset listening on \(http://[^/ ]*\).*|\1|p')" \
  || die "the web server did not start"
jar="$work/cookies"
# As the page's script sends them: same-origin, the session cookie, JSON answers.
get() { curl -sS -b "$jar" -c "$jar" "$web$1"; }
post() {
  local path="$1"; shift
  curl -sS -b "$jar" -c "$jar" -H "Origin: $web" -H 'Sec-Fetch-Site: same-origin' \
    -H 'Accept: application/json' "$@" "$web$path"
}
get /csv >/dev/null
get /csv >/dev/null
code="$(post /csv/bulk/start -o /dev/null -w '%{http_code}' \
  --data 'algorithm=SHA1&period=30&display_timeout=30&seed_bytes=20&manufacturer=Token2&model=&count=' \
  --data 'users_from=pasted' \
  --data-urlencode "users=$(printf '%s\n' frank@contoso.com grace@contoso.com heidi@contoso.com ivan@contoso.com judy@contoso.com)")"
[ "$code" = 303 ] || die "the bulk panel refused the start ($code)"
asked=0
steps=0
web_started="$(date +%s%N)"
state=""
for _ in $(seq 1 40); do
  steps=$((steps + 1))
  answer="$(post /csv/bulk/step --data '')"
  state="$(jq -r .state <<<"$answer")" || die "the step answered $answer"
  if [ "$state" = same_token ]; then
    asked=$((asked + 1))
    # The first token tapped twice is burned again (its one row gets the new seed), the
    # second skipped.
    if [ "$asked" = 1 ]; then action=reburn; else action=skip; fi
    answer="$(post /csv/bulk/same --data "action=$action")"
    state="$(jq -r .state <<<"$answer")"
  fi
  jq -r .panel <<<"$answer" >"$work/panel.html"
  [ "$state" = done ] && break
  [ "$state" = running ] || die "the run is $state: $(grep -o 'bulk-result [a-z]*' "$work/panel.html" | tail -n 3)"
done
web_ended="$(date +%s%N)"
[ "$state" = done ] || die "the web bulk run did not finish: $(cat "$work/panel.html")"
[ "$asked" = 2 ] || die "the panel asked $asked times about the two tokens tapped twice, not twice"
grep -q 'Lifted mid-write — burn it again' "$work/panel.html" || die "the lifted token was not reported"
grep -q 'again: row 3 now carries the new seed' "$work/panel.html" \
  || die "the token held for a re-burn was not burned again"
grep -q 'tapped twice: skipped, its row keeps its seed' "$work/panel.html" \
  || die "the token tapped twice was not skipped"

get /csv/export/privacyidea | grep -v '^#' | tr -d ' ' >"$work/web-rows.csv"
get /csv/export/inventory | tail -n +2 | tr -d '\r' >"$work/web-inventory.csv"
[ "$(wc -l <"$work/web-rows.csv")" = 5 ] || die "the batch has $(wc -l <"$work/web-rows.csv") rows, not 5"
[ "$(cut -d, -f1 "$work/web-rows.csv" | sort -u | wc -l)" = 5 ] || die "a serial has two rows"
[ "$(cut -d, -f2 "$work/web-inventory.csv" | paste -sd' ')" = \
  "frank@contoso.com grace@contoso.com heidi@contoso.com ivan@contoso.com judy@contoso.com" ] \
  || die "users were not given in order: $(cut -d, -f2 "$work/web-inventory.csv" | paste -sd' ')"
[ "$(grep '"event":"burned"' "$work/webstack.out" | grep -c '"serial":"8659612000023"')" = 2 ] \
  || die "8659612000023, held for a re-burn, was not burned twice"
[ "$(grep '"event":"burned"' "$work/webstack.out" | grep -c '"serial":"8659632000024"')" = 1 ] \
  || die "8659632000024, tapped twice and skipped, was burned twice"
while IFS=, read -r serial hex _type digits interval; do
  shown="$(grep '"event":"burned"' "$work/webstack.out" | jq -c --arg s "$serial" 'select(.serial == $s)' \
    | tail -n 1)"
  [ -n "$shown" ] || die "$serial: the virtual token reports no burn"
  while read -r counter code; do
    ours="$(oathtool --totp -d "$digits" -s "${interval}s" -N "@$((counter * interval))" "$hex")"
    [ "$ours" = "$code" ] || die "$serial: token shows $code at step $counter, the batch row's seed gives $ours"
  done < <(jq -r '.codes[] | "\(.counter) \(.code)"' <<<"$shown")
  echo "    $serial: the batch row's seed matches the token's codes"
done <"$work/web-rows.csv"
# The agent logs what each burn cost on the card (APDUs, ms from connect to result).
sed 's/\x1b\[[0-9;]*m//g' "$work/agent2.log" | grep 'card work of a burn' | grep 'ok=true' \
  | sed -n 's/.*apdus=\([0-9]*\) ms=\([0-9.]*\).*/\1 \2/p' >"$work/web-costs.txt"
[ -s "$work/web-costs.txt" ] || die "the agent logged no burn costs"
echo "    web bulk: $(awk '{a+=$1; m+=$2; n++} END {printf "%.1f APDUs per burn, %.1f ms of our time per token (card connected to result), %d burns", a/n, m/n, n}' "$work/web-costs.txt");" \
  "$steps steps in $(( (web_ended - web_started) / 1000000 )) ms wall time, pcscd's card polling included"

step "all burns through pcscd match"
