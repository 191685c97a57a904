#!/bin/sh
# The compose file's one-shot `setup` service: keys, configurations and enrolments for
# central, the offices and the mayor, each in its own volume mounted under $SETUP_ROOT.
#
# It only adds what is missing: an existing key, identity key or configuration is never
# replaced, and a node already enrolled (or revoked) at central is left as it is. So it runs
# before every `docker compose up`, and adding an office means adding it to OFFICES (and its
# volume and service to compose.yaml).
#
# Started as root only to hand fresh volumes to the node user; everything else runs as that
# user. Environment (no SAMBAT_ prefix: sambat would read those as configuration keys):
#   OFFICES        office node ids, codes of the OPD directory (default: dpupr dlh dishub)
#   SETUP_ROOT     where the volumes are mounted (default: /setup)
#   NODE_UID       the node user's uid and gid (default: 10001, as in the image)
#   REFERENCE_DIR  the reference files as the nodes see them (default: /usr/share/sambat/Config)
#   SMSD_DATABASE  Gammu SMSD's database as central sees it; empty for no SMS door
#                  (default: /var/lib/gammu/smsd.db)
set -eu

OFFICES="${OFFICES:-dpupr dlh dishub}"
SETUP_ROOT="${SETUP_ROOT:-/setup}"
NODE_UID="${NODE_UID:-10001}"
REFERENCE_DIR="${REFERENCE_DIR:-/usr/share/sambat/Config}"
SMSD_DATABASE="${SMSD_DATABASE-/var/lib/gammu/smsd.db}"
SAMBAT="${SAMBAT_BIN:-sambat}"
SYNC_PORT=7301 # central's sync port inside the compose network; never published
HTTP_PORT=8080 # every node's HTTP port inside its container; compose maps it per node
NODES="central $OFFICES mayor"

fail() {
    echo "setup: $*" >&2
    exit 1
}

if [ "$(id -u)" = 0 ]; then
    # A fresh named volume belongs to root: give each to the node user, then go on as that user.
    for volume in config central-identity $NODES; do
        [ -d "$SETUP_ROOT/$volume" ] || fail "no volume mounted at $SETUP_ROOT/$volume"
        chown "$NODE_UID:$NODE_UID" "$SETUP_ROOT/$volume"
    done
    exec setpriv --reuid="$NODE_UID" --regid="$NODE_UID" --clear-groups -- "$0" "$@"
fi

umask 077
for volume in config central-identity $NODES; do
    [ -w "$SETUP_ROOT/$volume" ] || fail "$SETUP_ROOT/$volume is missing or not writable by uid $(id -u)"
    chmod 0700 "$SETUP_ROOT/$volume"
done

# Every node's CURVE key in its own data directory, and beside it a folder for `sambat backup`
# (which creates no folders); central's identity key in a volume of its own, so that a copy of
# central's data alone reveals no reporter.
for node in $NODES; do
    key="$SETUP_ROOT/$node/data/curve.key"
    [ -f "$key" ] || "$SAMBAT" keys generate --out "$key" --node "$node" >/dev/null
    mkdir -p "$SETUP_ROOT/$node/backups"
done
identity="$SETUP_ROOT/central-identity/identity.key"
[ -f "$identity" ] || "$SAMBAT" keys identity --out "$identity" >/dev/null
CENTRAL_KEY="$("$SAMBAT" keys public --key "$SETUP_ROOT/central/data/curve.key")"

# central_config DATA_DIR IDENTITY_FILE BIND [final]: central's configuration on stdout. The
# final one is what the central container reads; without `final`, the one setup itself uses to
# reach central's store through the volumes' paths here.
central_config() {
    cat <<EOF
# Sambat central, written by docker/setup.sh (which never overwrites it).
node:
  id: central
  role: central
  data_dir: $1
  key_file: $1/curve.key
  log_level: info
sync:
  bind: $3
identity:
  key_file: $2
reference:
  directory: $REFERENCE_DIR/opd-directory.yaml
  routing: $REFERENCE_DIR/routing.yaml
  screening: $REFERENCE_DIR/screening.yaml
  deadlines: $REFERENCE_DIR/deadlines.yaml
  holidays: $REFERENCE_DIR/holidays.yaml
EOF
    [ "${4:-}" = final ] || return 0
    # 0.0.0.0 inside the container: compose publishes the port on the host's loopback only.
    printf 'http:\n  port: %s\n  bind: 0.0.0.0\n' "$HTTP_PORT"
    [ -z "$SMSD_DATABASE" ] || printf 'smsd:\n  database: %s\n' "$SMSD_DATABASE"
}

# node_config NODE ROLE: an office's or the mayor's configuration on stdout.
node_config() {
    cat <<EOF
# Sambat $2 node $1, written by docker/setup.sh (which never overwrites it).
node:
  id: $1
  role: $2
  data_dir: /var/lib/sambat/data
  key_file: /var/lib/sambat/data/curve.key
  log_level: info
central:
  id: central
  endpoint: tcp://central:$SYNC_PORT
  public_key: "$CENTRAL_KEY"
http:
  port: $HTTP_PORT
  bind: 0.0.0.0
reference:
  directory: $REFERENCE_DIR/opd-directory.yaml
  deadlines: $REFERENCE_DIR/deadlines.yaml
  holidays: $REFERENCE_DIR/holidays.yaml
EOF
}

# write FILE: stdin into FILE unless it exists (an operator may have edited it).
write() {
    [ ! -f "$1" ] || { cat >/dev/null && return 0; }
    cat >"$1.new" && mv "$1.new" "$1"
    echo "setup: wrote $1"
}

central_config /var/lib/sambat/data /var/lib/sambat-identity/identity.key "tcp://0.0.0.0:$SYNC_PORT" final |
    write "$SETUP_ROOT/config/central.yaml"
for office in $OFFICES; do node_config "$office" office | write "$SETUP_ROOT/config/office-$office.yaml"; done
node_config mayor mayor | write "$SETUP_ROOT/config/mayor.yaml"

# Enrolment goes through central's store (`node enrol` creates it when central never ran),
# reached through this container's paths.
here="$(mktemp -d)"
trap 'rm -rf "$here"' EXIT
central_config "$SETUP_ROOT/central/data" "$identity" "tcp://127.0.0.1:$SYNC_PORT" >"$here/central.yaml"
enrolled=""
if [ -f "$SETUP_ROOT/central/data/sambat.sqlite" ]; then
    enrolled="$("$SAMBAT" node list --config "$here/central.yaml")"
fi
for node in $OFFICES mayor; do
    role=office
    [ "$node" != mayor ] || role=mayor
    if printf '%s\n' "$enrolled" | grep -q "^$node "; then continue; fi
    key="$("$SAMBAT" keys public --key "$SETUP_ROOT/$node/data/curve.key")"
    "$SAMBAT" node enrol "$node" --role "$role" "--public-key=$key" --config "$here/central.yaml"
done

echo "setup: ready; central's public key is $CENTRAL_KEY"
