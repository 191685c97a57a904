#!/bin/bash
# Follows docs/operations.md "Installing on a bare Debian machine" step by step, in a fresh
# directory: the same commands, with /etc/sambat and /var/lib/sambat under a temporary root,
# and the nodes started as plain processes where systemd would start the units (step 7).
#
# Usage: Tests/Guide/install_guide.sh PATH-TO-sambat
# Prints "guide: ok" and exits 0 when every step did what the guide says it does.
set -euo pipefail

SAMBAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
ROOT="$(mktemp -d /tmp/sambat-guide-XXXXXX)"
ETC="$ROOT/etc/sambat"
VAR="$ROOT/var/lib/sambat"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$ROOT"
}
trap cleanup EXIT
fail() {
    echo "guide: step $1 failed: $2" >&2
    for log in "$ROOT"/*.log; do
        [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
}
free_port() { /usr/bin/python3 "$REPO/scripts/free_port.py"; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local seconds="$1"
    shift
    for _ in $(seq $((seconds * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}
SYNC_PORT="$(free_port)"
CENTRAL_HTTP="$(free_port)"
OFFICE_HTTP="$(free_port)"
MAYOR_HTTP="$(free_port)"

# 1. The binary (built by the caller; the guide installs it to /usr/local/bin).
[ -x "$SAMBAT" ] || fail 1 "no sambat binary at $SAMBAT"

# 2. The folders and the reference files (the service user is the caller here).
install -d -m 0750 "$VAR"
install -d -m 0755 "$ETC"
cp "$REPO"/Config/opd-directory.yaml "$REPO"/Config/deadlines.yaml "$REPO"/Config/holidays.yaml \
    "$REPO"/Config/routing.yaml "$ETC/"

# 3. Central.
CENTRAL_OUT="$("$SAMBAT" config central --bind "tcp://127.0.0.1:$SYNC_PORT" --http-port "$CENTRAL_HTTP" \
    --out "$ETC/central.yaml" --reference-dir "$ETC" --data-dir "$VAR/central" \
    --key-file "$ETC/keys/central.key" --identity-key-file "$ETC/keys/identity.key")" || fail 3 "config central"
CENTRAL_KEY="$(sed -n 's/^Kunci publik central.*: //p' <<<"$CENTRAL_OUT")"
[ "${#CENTRAL_KEY}" -eq 40 ] || fail 3 "central's public key was not printed: $CENTRAL_OUT"
[ "$(stat -c %a "$ETC/keys")" = 700 ] || fail 3 "the keys folder is not 0700"

# 4. An office, and 5. the mayor.
OFFICE_OUT="$("$SAMBAT" config office dpupr --central-endpoint "tcp://127.0.0.1:$SYNC_PORT" \
    --central-public-key="$CENTRAL_KEY" --http-port "$OFFICE_HTTP" --out "$ETC/office-dpupr.yaml" \
    --reference-dir "$ETC" --data-dir "$VAR/dpupr" --key-file "$ETC/keys/dpupr.key")" || fail 4 "config office"
MAYOR_OUT="$("$SAMBAT" config mayor --central-endpoint "tcp://127.0.0.1:$SYNC_PORT" \
    --central-public-key="$CENTRAL_KEY" --http-port "$MAYOR_HTTP" --out "$ETC/mayor.yaml" \
    --reference-dir "$ETC" --data-dir "$VAR/mayor" --key-file "$ETC/keys/mayor.key")" || fail 5 "config mayor"

# 6. Enrolment, with the lines steps 4 and 5 printed.
for printed in "$OFFICE_OUT" "$MAYOR_OUT"; do
    line="$(sed -n 's/^Daftarkan di central: sambat //p' <<<"$printed")"
    [ -n "$line" ] || fail 6 "no enrol line in: $printed"
    read -r -a words <<<"$line"
    # The key is the last word; pass it as --public-key=KEY (a Z85 key may start with '-').
    key="${words[-1]}"
    unset 'words[-1]' 'words[-1]'
    "$SAMBAT" "${words[@]}" "--public-key=$key" --config "$ETC/central.yaml" >/dev/null || fail 6 "enrol: $line"
done

# 7. Start (what the systemd units run).
for node in central office-dpupr mayor; do
    "$SAMBAT" run --config "$ETC/$node.yaml" >"$ROOT/$node.log" 2>&1 &
    PIDS+=("$!")
done

# 8. The people.
echo "kata-sandi-operator-2026" | "$SAMBAT" account add op.rina --display-name "Rina (operator)" \
    --password-stdin --config "$ETC/central.yaml" >/dev/null || fail 8 "account at central"
echo "kata-sandi-dpupr-2026" | "$SAMBAT" account add dpupr.budi --display-name "Budi (DPUPR)" \
    --password-stdin --config "$ETC/office-dpupr.yaml" >/dev/null || fail 8 "account at the office"

# 9. Check.
linked() { "$SAMBAT" status --config "$ETC/$1.yaml" | grep -q "TERSAMBUNG ke central"; }
wait_for 60 linked office-dpupr || fail 9 "the office is not linked to central"
wait_for 60 linked mayor || fail 9 "the mayor is not linked to central"
for port in "$CENTRAL_HTTP" "$OFFICE_HTTP" "$MAYOR_HTTP"; do
    wait_for 30 curl -sf "http://127.0.0.1:$port/readyz" || fail 9 "/readyz on port $port"
done
export SAMBAT_ACTOR=op.rina
TICKET="$("$SAMBAT" intake --name "Uji Panduan" --nik 3576010101900001 --phone 081200000001 \
    --text "Uji pemasangan: saluran air tersumbat di Jl. Majapahit" --config "$ETC/central.yaml" \
    | awk '{print $1; exit}')"
[[ "$TICKET" == MJK-* ]] || fail 9 "intake printed no ticket: $TICKET"
"$SAMBAT" case verify "$TICKET" --tier normatif --config "$ETC/central.yaml" >/dev/null || fail 9 "verify"
"$SAMBAT" case dispatch "$TICKET" --office dpupr --config "$ETC/central.yaml" >/dev/null || fail 9 "dispatch"
at_office() { "$SAMBAT" case list --config "$ETC/office-dpupr.yaml" | grep -q "$TICKET"; }
wait_for 30 at_office || fail 9 "the dispatched case did not reach the office"
health() { curl -sf "http://127.0.0.1:$CENTRAL_HTTP/metrics" | grep -q 'sambat_peer_connected{node="dpupr"} 1'; }
wait_for 30 health || fail 9 "central's metrics do not show the office connected"
applied() { curl -sf "http://127.0.0.1:$OFFICE_HTTP/metrics" | grep -q 'sambat_ops_applied_total{source="feed"} [1-9]'; }
wait_for 30 applied || fail 9 "the office's metrics do not count the ops its feed brought"

# 10. Backups.
"$SAMBAT" backup --out "$ROOT/dpupr-backup.sqlite" --config "$ETC/office-dpupr.yaml" >/dev/null ||
    fail 10 "backup of the running office"

echo "guide: ok"
