#!/bin/sh
# The smsd container's entrypoint: on first start, Gammu's database from Debian's schema
# (version 17, the one Sambat checks) and the dummy phone's folders; then the daemon, in the
# foreground.
set -eu
dir=/var/lib/gammu
schema=/usr/share/doc/gammu-smsd/examples/sqlite.sql
for folder in 1 2 3 4 5; do mkdir -p "$dir/dummy/sms/$folder"; done
if [ ! -f "$dir/smsd.db" ]; then
    # Built aside and moved in, so central never sees a half-made database.
    rm -f "$dir/smsd.db.new"
    sqlite3 "$dir/smsd.db.new" ".read $schema"
    mv "$dir/smsd.db.new" "$dir/smsd.db"
fi
exec gammu-smsd --config "${SMSD_CONFIG:-/etc/gammu-smsdrc}" "$@"
