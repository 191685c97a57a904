#!/usr/bin/env bash
# make demo: the whole Sambat system on this machine, telling its story as it happens.
#
# Central, four offices (dpupr, dlh, perkim, dishub) and the mayor run as separate processes
# on loopback, each with its own temporary data directory and freshly generated CURVE keys.
# The story: complaints arrive through the real doors (WhatsApp posts signed like Meta's, SMS
# through Gammu's dummy phone when gammu-smsd is installed, phone calls typed in by the
# operator) and the reporters get their ticket numbers; they are verified and dispatched; the
# reporters are told; offices work them; the DLH
# office goes offline, keeps working, and comes back; a conflict arises, is shown on every
# node and resolved at central; the mayor's node prints the report and the day's recap.
#
#   scripts/demo.sh            run the story, then keep every node running until Ctrl-C
#   scripts/demo.sh --exit     run the story non-interactively; exit 0 only if every node converged
#   scripts/demo.sh --dir=DIR  keep data, keys, configs and logs in DIR (default: a new temp dir)
#
# SAMBAT_BIN selects the binary (default .build/debug/sambat).
set -euo pipefail

EXIT_AT_END=0
DEMO_DIR=""
for argument in "$@"; do
    case "$argument" in
        --exit) EXIT_AT_END=1 ;;
        --dir=*) DEMO_DIR="${argument#--dir=}" ;;
        *) echo "demo: unknown argument '$argument' (use --exit or --dir=DIR)" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SAMBAT="${SAMBAT_BIN:-$ROOT/.build/debug/sambat}"
[ -x "$SAMBAT" ] || { echo "demo: $SAMBAT not found; run 'make build' first" >&2; exit 2; }
DEMO_DIR="${DEMO_DIR:-$(mktemp -d /tmp/sambat-demo.XXXXXX)}"
mkdir -p "$DEMO_DIR"/{config,data,logs,work}
DEMO_DIR="$(cd "$DEMO_DIR" && pwd)"
COMPLAINTS="$ROOT/Config/demo/complaints.jsonl"
OFFICES=(dpupr dlh perkim dishub)
NODES=(central "${OFFICES[@]}" mayor)
declare -A PIDS=()

if [ -t 1 ]; then BOLD=$'\033[1m'; DIM=$'\033[2m'; RESET=$'\033[0m'; else BOLD=""; DIM=""; RESET=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$RESET"; }
note() { printf '   %s\n' "$*"; }
show() { sed 's/^/   | /'; }
fail() {
    printf '\nDEMO GAGAL: %s\n' "$*" >&2
    for log in "$DEMO_DIR"/logs/*.log; do
        [ -f "$log" ] || continue
        printf -- '--- %s (akhir)\n' "$(basename "$log")" >&2
        tail -n 8 "$log" >&2
    done
    exit 1
}

config_of() { echo "$DEMO_DIR/config/$1.yaml"; }
# sam NODE ARGS...: a sambat command on NODE's own store, as that node's demo account.
sam() {
    local node=$1
    shift
    SAMBAT_ACTOR="demo.$node" "$SAMBAT" "$@" --config "$(config_of "$node")"
}

start_node() {
    local node=$1
    "$SAMBAT" run --config "$(config_of "$node")" >>"$DEMO_DIR/logs/$node.log" 2>&1 &
    PIDS[$node]=$!
}

stop_node() {
    local node=$1 pid=${PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PIDS[$node]"
}

stop_all() {
    # The stand-ins for Meta and the modem hold nothing to save: they are killed outright (a
    # process started with SIGTERM blocked, as under a test runner, would not see a TERM).
    for helper in graph gammu; do
        [ -z "${PIDS[$helper]:-}" ] || kill -KILL "${PIDS[$helper]}" 2>/dev/null || true
    done
    for node in "${!PIDS[@]}"; do kill -TERM "${PIDS[$node]}" 2>/dev/null || true; done
    for node in "${!PIDS[@]}"; do wait "${PIDS[$node]}" 2>/dev/null || true; done
    PIDS=()
}
trap stop_all EXIT
trap 'echo; echo "Menghentikan semua node..."; stop_all; exit 130' INT TERM

# wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "menunggu $what lebih dari $seconds detik (log: $DEMO_DIR/logs)"
        sleep 0.3
    done
}
is_running() { sam "$1" status --json | grep -q '"running":true'; }
is_linked() { sam "$1" status --json | grep -q '"link_up":true'; }
all_sent() { sam "$1" status --json | grep -q '"unsent":0'; }
holds_cases() { [ "$(sam "$1" inspect digests | wc -l)" -ge "$2" ]; }
has_conflict() { sam "$1" conflicts --all | grep -q "$2"; }

# --- set-up -------------------------------------------------------------------------------
say "Menyiapkan kunci dan konfigurasi di $DEMO_DIR"
free_port() { /usr/bin/python3 "$ROOT/scripts/free_port.py"; }
PORT="${SAMBAT_DEMO_PORT:-$(free_port)}"
for node in "${NODES[@]}"; do
    mkdir -p "$DEMO_DIR/data/$node"
    [ -f "$DEMO_DIR/data/$node/curve.key" ] ||
        "$SAMBAT" keys generate --out "$DEMO_DIR/data/$node/curve.key" --node "$node" >/dev/null
done
mkdir -p "$DEMO_DIR/keys/central"
[ -f "$DEMO_DIR/keys/central/identity.key" ] ||
    "$SAMBAT" keys identity --out "$DEMO_DIR/keys/central/identity.key" >/dev/null
CENTRAL_KEY="$("$SAMBAT" keys public --key "$DEMO_DIR/data/central/curve.key")"
HTTP_PORT="$(free_port)"
MAYOR_HTTP_PORT="$(free_port)"
MAYOR_LOGIN="walikota.demo"
MAYOR_PASSWORD="demo-walikota-2026"
OPERATOR_LOGIN="operator.demo"
OPERATOR_PASSWORD="demo-operator-2026"
OFFICE_HTTP_PORT="$(free_port)"
OFFICE_LOGIN="dpupr.demo"
OFFICE_PASSWORD="demo-dpupr-2026"
GRAPH_PORT="$(free_port)"
DOORS=(python3 "$ROOT/scripts/demo_doors.py")
WEBHOOK="http://127.0.0.1:$HTTP_PORT/webhooks/whatsapp"
GRAPH_LOG="$DEMO_DIR/work/whatsapp-sent.jsonl"
SMSD_DIR="$DEMO_DIR/smsd"
SMSD_DB=""
printf 'demo-app-secret\n' >"$DEMO_DIR/keys/central/whatsapp-app-secret"
printf 'demo-access-token\n' >"$DEMO_DIR/keys/central/whatsapp-token"
chmod 600 "$DEMO_DIR/keys/central/whatsapp-app-secret" "$DEMO_DIR/keys/central/whatsapp-token"
if command -v gammu-smsd >/dev/null && [ -f /usr/share/doc/gammu-smsd/examples/sqlite.sql ]; then
    SMSD_DB="$SMSD_DIR/smsd.db"
    mkdir -p "$SMSD_DIR"/dummy/sms/{1,2,3,4,5}
    [ -f "$SMSD_DB" ] || sqlite3 "$SMSD_DB" ".read /usr/share/doc/gammu-smsd/examples/sqlite.sql"
    cat >"$SMSD_DIR/smsdrc" <<SMSDRC
[gammu]
model = dummy
connection = none
device = $SMSD_DIR/dummy
[smsd]
service = sql
driver = sqlite3
database = smsd.db
dbdir = $SMSD_DIR/
commtimeout = 1
receivefrequency = 1
checksecurity = 0
checkbattery = 0
checksignal = 0
logfile = $SMSD_DIR/gammu-smsd.log
SMSDRC
fi
# Each node's config is the shipped one with this run's directories, port and central key;
# central also gets its HTTP port, the WhatsApp Cloud API (a stand-in for Meta on this
# machine) and, with gammu-smsd installed, the SMS gateway.
python3 - "$ROOT" "$DEMO_DIR" "$PORT" "$CENTRAL_KEY" "$HTTP_PORT" "$GRAPH_PORT" "$SMSD_DB" "$MAYOR_HTTP_PORT" "$OFFICE_HTTP_PORT" <<'PYTHON'
import sys
root, demo, port, key, http_port, graph_port, smsd, mayor_http_port, office_http_port = sys.argv[1:]
files = {"central": "central.yaml", "mayor": "mayor.yaml"}
for office in ("dpupr", "dlh", "perkim", "dishub"):
    files[office] = f"office-{office}.yaml"
for node, name in files.items():
    text = open(f"{root}/Config/{name}", encoding="utf-8").read()
    text = text.replace("data_dir: data/", f"data_dir: {demo}/data/")
    text = text.replace("key_file: data/", f"key_file: {demo}/data/")
    text = text.replace("key_file: keys/", f"key_file: {demo}/keys/")
    text = text.replace(": Config/", f": {root}/Config/")
    text = text.replace("tcp://127.0.0.1:7301", f"tcp://127.0.0.1:{port}")
    text = text.replace("SET-ME-central-public-key-40-characters", key)
    text = text.replace("  port: 8081", f"  port: {mayor_http_port}")
    text = text.replace("  port: 8082", f"  port: {office_http_port}")
    if node == "central":
        text += f"""
http:
  port: {http_port}
whatsapp:
  verify_token: demo-verify-token
  app_secret_file: {demo}/keys/central/whatsapp-app-secret
  phone_number_id: "100200300"
  access_token_file: {demo}/keys/central/whatsapp-token
  graph_base_url: http://127.0.0.1:{graph_port}/v21.0
"""
        if smsd:
            text += f"smsd:\n  database: {smsd}\n"
    open(f"{demo}/config/{node}.yaml", "w", encoding="utf-8").write(text)
PYTHON
note "central mendengarkan di tcp://127.0.0.1:$PORT (CURVE; hanya kunci terdaftar)"
note "webhook WhatsApp di $WEBHOOK; Graph API tiruan di 127.0.0.1:$GRAPH_PORT"
"${DOORS[@]}" graph "$GRAPH_PORT" "$GRAPH_LOG" >>"$DEMO_DIR/logs/graph.log" 2>&1 &
PIDS[graph]=$!
if [ -n "$SMSD_DB" ]; then
    # Gammu's own log stays beside its database: the gateway handles numbers, Sambat's logs never.
    (cd "$SMSD_DIR" && exec gammu-smsd -c "$SMSD_DIR/smsdrc") >>"$SMSD_DIR/gammu-smsd.out" 2>&1 &
    PIDS[gammu]=$!
    note "Gammu SMSD berjalan dengan telepon dummy (SMS masuk: $SMSD_DIR/dummy/sms/1)"
else
    note "gammu-smsd tidak terpasang: SMS dicatat operator seperti telepon"
fi

say "Menjalankan central"
start_node central
wait_for 30 "central berjalan" is_running central
for node in "${OFFICES[@]}" mayor; do
    role=office
    [ "$node" = mayor ] && role=mayor
    key="$("$SAMBAT" keys public --key "$DEMO_DIR/data/$node/curve.key")"
    sam central node enrol "$node" --role "$role" "--public-key=$key" | show
done

say "Menjalankan kantor OPD (${OFFICES[*]}) dan node mayor"
for node in "${OFFICES[@]}" mayor; do start_node "$node"; done
for node in "${OFFICES[@]}" mayor; do wait_for 90 "$node tersambung" is_linked "$node"; done
sam central status | show
# The operator signs in to central's console, the vice-mayor's office to the mayor's dashboard,
# DPUPR's liaison officer to its console: an account of each node.
printf '%s\n' "$OPERATOR_PASSWORD" | sam central account add "$OPERATOR_LOGIN" --display-name "Operator (demo)" \
    --password-stdin | show
note "konsol operator: http://127.0.0.1:$HTTP_PORT/ (masuk: $OPERATOR_LOGIN / $OPERATOR_PASSWORD)"
printf '%s\n' "$MAYOR_PASSWORD" | sam mayor account add "$MAYOR_LOGIN" --display-name "Wakil Wali Kota (demo)" \
    --password-stdin | show
wait_for 30 "dasbor mayor menjawab" curl -fsS -o /dev/null "http://127.0.0.1:$MAYOR_HTTP_PORT/healthz"
note "dasbor wali kota: http://127.0.0.1:$MAYOR_HTTP_PORT/ (masuk: $MAYOR_LOGIN / $MAYOR_PASSWORD)"
printf '%s\n' "$OFFICE_PASSWORD" | sam dpupr account add "$OFFICE_LOGIN" --display-name "Petugas DPUPR (demo)" \
    --password-stdin | show
wait_for 30 "konsol DPUPR menjawab" curl -fsS -o /dev/null "http://127.0.0.1:$OFFICE_HTTP_PORT/healthz"
note "konsol DPUPR: http://127.0.0.1:$OFFICE_HTTP_PORT/ (masuk: $OFFICE_LOGIN / $OFFICE_PASSWORD)"

# --- intake, verification and dispatch ----------------------------------------------------
say "Pengaduan masuk: WhatsApp (dikirim seperti Meta, bertanda tangan), SMS, dan telepon"
TYPED_CHANNELS=phone
[ -n "$SMSD_DB" ] || TYPED_CHANNELS=phone,sms
"${DOORS[@]}" whatsapp "$WEBHOOK" "$DEMO_DIR/keys/central/whatsapp-app-secret" "$COMPLAINTS"
note "$(grep -c '"channel": "whatsapp"' "$COMPLAINTS") pesan WhatsApp diterima webhook central (HTTP 200 setelah tersimpan)"
if [ -n "$SMSD_DB" ]; then
    "${DOORS[@]}" sms "$SMSD_DIR/dummy/sms/1" "$COMPLAINTS"
    note "$(grep -c '"channel": "sms"' "$COMPLAINTS") SMS masuk ke telepon dummy Gammu"
fi
"${DOORS[@]}" typed "$COMPLAINTS" "$TYPED_CHANNELS" "$DEMO_DIR/work/typed.jsonl"
echo "$TYPED_CHANNELS" >"$DEMO_DIR/work/intake.txt.channels"
sam central intake --batch "$DEMO_DIR/work/typed.jsonl" >"$DEMO_DIR/work/intake.txt"
note "$(wc -l <"$DEMO_DIR/work/intake.txt") pengaduan lewat telepon dicatat operator (${TYPED_CHANNELS//,/ dan })"
has_tickets() {
    "${DOORS[@]}" tickets "$COMPLAINTS" "$GRAPH_LOG" "$SMSD_DB" "$DEMO_DIR/work/intake.txt" >"$DEMO_DIR/work/tickets.txt"
}
wait_for 90 "nomor tiket terkirim ke setiap pelapor" has_tickets
FIRST_WA_PHONE="$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["channel"] == "whatsapp": print(r["phone"]); break' "$COMPLAINTS")"
note "Balasan yang diterima seorang pelapor WhatsApp:"
"${DOORS[@]}" replies "$FIRST_WA_PHONE" "$GRAPH_LOG" "" | show
say "Pelapor membalas dengan nama dan NIK (diminta kota); identitas disegel di central"
"${DOORS[@]}" identity whatsapp "$WEBHOOK" "$COMPLAINTS" "$DEMO_DIR/keys/central/whatsapp-app-secret"
[ -z "$SMSD_DB" ] || "${DOORS[@]}" identity sms "$SMSD_DIR/dummy/sms/1" "$COMPLAINTS"
mapfile -t CASES < <(cut -d' ' -f1 "$DEMO_DIR/work/tickets.txt")
mapfile -t PLAN < <(cut -d' ' -f2- "$DEMO_DIR/work/tickets.txt")
note "${#CASES[@]} pengaduan tercatat; pelapor sudah menerima nomor tiket."
note "Contoh yang dilihat OPD (teks tersamarkan):"
sam central case show "${CASES[0]}" | sed -n '1,5p' | show

say "Operator memverifikasi dan mendisposisikan ke OPD"
declare -A EXPECT=()
declare -A FIRST_CASE=()
declare -A OFFICE_CASES=()
HELD_BACK=3 # the last complaints stay in the queue, to show it
last=$((${#CASES[@]} - HELD_BACK))
for i in "${!CASES[@]}"; do
    read -r office tier topic <<<"${PLAN[$i]}"
    topic="${topic//_/ }"
    sam central case verify "${CASES[$i]}" --tier "$tier" --topic "$topic" >/dev/null
    [ "$i" -lt "$last" ] || continue
    sam central case dispatch "${CASES[$i]}" --office "$office" --instructions "Mohon ditindaklanjuti sesuai SOP." >/dev/null
    EXPECT[$office]=$((${EXPECT[$office]:-0} + 1))
    FIRST_CASE[$office]="${FIRST_CASE[$office]:-${CASES[$i]}}"
    OFFICE_CASES[$office]="${OFFICE_CASES[$office]:-} ${CASES[$i]}"
done
for office in "${OFFICES[@]}"; do note "$office: ${EXPECT[$office]:-0} kasus didisposisikan"; done
note "Antrean central (belum didisposisikan):"
sam central queue | show

for office in "${OFFICES[@]}"; do wait_for 60 "kasus sampai di $office" holds_cases "$office" "${EXPECT[$office]:-0}"; done
wait_for 60 "semua kasus sampai di mayor" holds_cases mayor "${#CASES[@]}"
say "Kasus sampai di kantor OPD. Daftar kasus DPUPR:"
sam dpupr case list | head -6 | show

# --- offices at work ----------------------------------------------------------------------
say "OPD bekerja: menerima, memproses, melaporkan tindak lanjut"
work() { # work OFFICE ACK START RESOLVE: acts on the first N of its cases
    local office=$1 ack=$2 start=$3 resolve=$4 n=0
    for id in ${OFFICE_CASES[$office]}; do
        n=$((n + 1))
        [ $n -le "$ack" ] && sam "$office" case ack "$id" >/dev/null
        [ $n -le "$start" ] && sam "$office" case start "$id" >/dev/null
        [ $n -le "$resolve" ] && sam "$office" case resolve "$id" --summary "Sudah ditangani petugas di lapangan." >/dev/null
    done
    return 0
}
work dpupr 8 5 3
work perkim 8 4 2
work dlh 6 4 0
work dishub 1 0 0 # a slow office: the report shows it
note "dpupr: 8 diterima, 3 selesai; perkim: 8 diterima, 2 selesai; dlh: 6 diterima; dishub: 1 diterima"

# --- an office offline --------------------------------------------------------------------
read -r -a DLH_CASES <<<"${OFFICE_CASES[dlh]}"
CONFLICT_CASE="${DLH_CASES[1]}"
wait_for 30 "dlh terkirim" all_sent dlh
say "Jaringan kantor DLH putus: node DLH berhenti, petugas tetap bekerja dari CLI"
stop_node dlh
sam dlh status | show
sam dlh case resolve "${DLH_CASES[0]}" --summary "Sampah sudah diangkut, TPS dibersihkan." | show
sam dlh case resolve "$CONFLICT_CASE" --summary "Pohon tumbang sudah dipotong dan diangkut." | show
sam dlh case note "${DLH_CASES[2]}" --text "Menunggu armada pengangkut dari UPT." | show
sam dlh status | show
note "Riwayat di DLH menandai perubahan yang belum terkirim:"
sam dlh case show "$CONFLICT_CASE" | grep -A20 '^Riwayat' | show

say "Sementara itu central mengalihkan $CONFLICT_CASE dari DLH ke DPUPR"
sam central case reassign "$CONFLICT_CASE" --from dlh --to dpupr --note "Lokasi di saluran milik DPUPR." | show

say "Jaringan DLH pulih: node DLH tersambung lagi dan menyinkronkan"
start_node dlh
wait_for 60 "dlh tersambung" is_linked dlh
wait_for 60 "dlh terkirim" all_sent dlh
sam dlh status | show

# --- the conflict, everywhere -------------------------------------------------------------
say "Konflik: DLH menyelesaikan kasus yang bersamaan dialihkan central (central menang)"
wait_for 60 "konflik tercatat di central" has_conflict central "$CONFLICT_CASE"
wait_for 60 "konflik terlihat di DLH" has_conflict dlh "$CONFLICT_CASE"
wait_for 60 "konflik terlihat di mayor" has_conflict mayor "$CONFLICT_CASE"
for node in central dlh mayor; do
    note "di $node:"
    sam "$node" conflicts | show
done
CONFLICT_ID="$(sam central conflicts | awk -v c="$CONFLICT_CASE" '$1 == c { print $2; exit }')"
[ -n "$CONFLICT_ID" ] || fail "konflik $CONFLICT_CASE tidak ditemukan di central"
say "Operator menyelesaikan konflik: tetap DPUPR"
sam central conflict resolve "$CONFLICT_CASE" "$CONFLICT_ID" --outcome kept --note "Tetap ditangani DPUPR." | show
wait_for 60 "penyelesaian konflik sampai di mayor" bash -c "! '$SAMBAT' conflicts --config '$(config_of mayor)' | grep -q TERBUKA"

# --- convergence --------------------------------------------------------------------------
# Every node must hold exactly central's ops for every case it shares with central: the
# mayor shares all, an office the cases currently assigned to it (an office that lost a case
# keeps the history up to the reassignment).
EXPECT[dpupr]=$((${EXPECT[dpupr]:-0} + 1))
check_converged() {
    local problems=0
    sam central inspect digests >"$DEMO_DIR/work/central.digests"
    for node in "${OFFICES[@]}" mayor; do
        sam "$node" inspect digests >"$DEMO_DIR/work/$node.digests" || return 1
        local expected=${#CASES[@]} skip=""
        if [ "$node" != mayor ]; then
            expected=${EXPECT[$node]:-0}
            [ "$node" = dlh ] && skip="$CONFLICT_CASE" && expected=$((expected - 1))
        fi
        local matched
        matched=$(awk -v skip="$skip" 'NR == FNR { digest[$1] = $2; next }
            $1 != skip && ($1 in digest) && digest[$1] == $2 { n++ } END { print n + 0 }' \
            "$DEMO_DIR/work/central.digests" "$DEMO_DIR/work/$node.digests")
        [ "$matched" -eq "$expected" ] || problems=$((problems + 1))
    done
    [ $problems -eq 0 ]
}
# --- the reporter's side -------------------------------------------------------------------
REPORTER_CASE="${CASES[0]}"
told_resolved() { "${DOORS[@]}" replies "$FIRST_WA_PHONE" "$GRAPH_LOG" "" | grep -q "BELUM"; }
wait_for 60 "pelapor diberi tahu tindak lanjut OPD" told_resolved
say "Pelapor $REPORTER_CASE menerima kabar di WhatsApp, lalu membalas SUDAH"
"${DOORS[@]}" reply whatsapp "$WEBHOOK" "$FIRST_WA_PHONE" "Sudah, terima kasih" "$DEMO_DIR/keys/central/whatsapp-app-secret"
is_closed() { sam central case show "$REPORTER_CASE" | head -3 | grep -qw SELESAI; }
wait_for 60 "kasus $REPORTER_CASE ditutup atas konfirmasi pelapor" is_closed
told_closed() { "${DOORS[@]}" replies "$FIRST_WA_PHONE" "$GRAPH_LOG" "" | grep -q "konfirmasinya"; }
wait_for 30 "pelapor diberi tahu kasusnya ditutup" told_closed
note "Semua balasan yang diterima pelapor ini:"
"${DOORS[@]}" replies "$FIRST_WA_PHONE" "$GRAPH_LOG" "" | show
if [ -n "$SMSD_DB" ]; then
    note "Balasan SMS lewat Gammu (sentitems; pesan panjang dikirim beberapa bagian), lima yang pertama:"
    # Gammu SMSD may be writing (a rollback journal, not WAL): wait for its lock, not fail.
    sqlite3 -readonly -cmd ".timeout 10000" "$SMSD_DB" "SELECT substr(DestinationNumber, 1, 6) || '****', min(Status), group_concat(TextDecoded, '')
        FROM (SELECT * FROM sentitems ORDER BY ID, SequencePosition) GROUP BY ID ORDER BY ID LIMIT 5" | show
fi

say "Menunggu semua node konvergen"
converged=1
wait_for_converged() {
    local deadline=$((SECONDS + 90))
    until check_converged; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}
wait_for_converged || converged=0

# --- the mayor's view ---------------------------------------------------------------------
say "Node mayor: laporan kinerja OPD"
sam mayor report | show
say "Node mayor: rekap hari ini"
sam mayor recap --date "$(TZ=Asia/Jakarta date +%F)" | show

# With SAMBAT_DEMO_SCREENSHOTS=DIR the consoles are also used in headless Chromium as a person
# would (scripts/console_browser.py): the operator dispatches a case to DPUPR and it must appear
# in DPUPR's console; once every node holds it, the mayor's dashboard is read. What they showed
# goes to work/browser-consoles.json and work/browser-dashboard.json, screenshots to DIR.
if [ -n "${SAMBAT_DEMO_SCREENSHOTS:-}" ]; then
    say "Konsol operator dan konsol DPUPR di Chromium"
    printf '%s\n' "$MAYOR_PASSWORD" >"$DEMO_DIR/work/mayor-password"
    printf '%s\n' "$OFFICE_PASSWORD" >"$DEMO_DIR/work/office-password"
    printf '%s\n' "$OPERATOR_PASSWORD" >"$DEMO_DIR/work/operator-password"
    BROWSER=(/usr/bin/python3 "$ROOT/scripts/console_browser.py" --screenshots "$SAMBAT_DEMO_SCREENSHOTS")
    "${BROWSER[@]}" --operator-base "http://127.0.0.1:$HTTP_PORT" --operator-login "$OPERATOR_LOGIN" \
        --operator-password-file "$DEMO_DIR/work/operator-password" --office-code dpupr \
        --office-base "http://127.0.0.1:$OFFICE_HTTP_PORT" --office-login "$OFFICE_LOGIN" \
        --office-password-file "$DEMO_DIR/work/office-password" >"$DEMO_DIR/work/browser-consoles.json" ||
        fail "the consoles did not behave in Chromium: $(cat "$DEMO_DIR/work/browser-consoles.json")"
    note "$(cat "$DEMO_DIR/work/browser-consoles.json")"
    # The case the operator dispatched is DPUPR's now: every node must hold it as central does.
    EXPECT[dpupr]=$((${EXPECT[dpupr]:-0} + 1))
    wait_for_converged || converged=0
    say "Dasbor wali kota di Chromium"
    "${BROWSER[@]}" --base "http://127.0.0.1:$MAYOR_HTTP_PORT" --login "$MAYOR_LOGIN" \
        --password-file "$DEMO_DIR/work/mayor-password" --date "$(TZ=Asia/Jakarta date +%F)" \
        >"$DEMO_DIR/work/browser-dashboard.json" ||
        fail "the dashboard did not behave in Chromium: $(cat "$DEMO_DIR/work/browser-dashboard.json")"
    note "$(cat "$DEMO_DIR/work/browser-dashboard.json")"
fi

total=${#CASES[@]}
if [ $converged -eq 1 ]; then
    RESULT="HASIL: semua node konvergen (converged): $total kasus, ${#NODES[@]} node, digest kanonik sama di setiap node."
else
    RESULT="HASIL: TIDAK konvergen (not converged); bandingkan $DEMO_DIR/work/*.digests dan log di $DEMO_DIR/logs."
fi

if [ $EXIT_AT_END -eq 1 ]; then
    stop_all
    echo
    echo "$RESULT"
    [ $converged -eq 1 ]
    exit $?
fi

say "Lihat lebih lanjut (semua node masih berjalan)"
cat <<EOF
   Operator    : http://127.0.0.1:$HTTP_PORT/  (masuk: $OPERATOR_LOGIN / $OPERATOR_PASSWORD)
   Dasbor      : http://127.0.0.1:$MAYOR_HTTP_PORT/  (masuk: $MAYOR_LOGIN / $MAYOR_PASSWORD)
                 rekap harian: http://127.0.0.1:$MAYOR_HTTP_PORT/rekap
   Konsol DPUPR: http://127.0.0.1:$OFFICE_HTTP_PORT/  (masuk: $OFFICE_LOGIN / $OFFICE_PASSWORD)
   Konfigurasi : $DEMO_DIR/config/<node>.yaml
   Log         : $DEMO_DIR/logs/<node>.log
   Contoh      : $SAMBAT case list --config $DEMO_DIR/config/dpupr.yaml
                 $SAMBAT case show $CONFLICT_CASE --config $DEMO_DIR/config/dpupr.yaml
                 $SAMBAT queue --config $DEMO_DIR/config/central.yaml
                 $SAMBAT report --config $DEMO_DIR/config/mayor.yaml
   Tekan Ctrl-C untuk menghentikan semua node.
EOF
echo
echo "$RESULT"
while true; do sleep 3600 & wait $!; done
