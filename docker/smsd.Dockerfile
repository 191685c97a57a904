# Gammu SMSD (Debian's gammu-smsd) with its SQLite backend: central's SMS door in compose.yaml.
# Build context: this folder.  docker build -f docker/smsd.Dockerfile -t sambat-smsd docker
FROM debian:bookworm-slim
# The slim image keeps nothing of /usr/share/doc, where Debian ships Gammu's SQL schema: this
# rule keeps that one file (dpkg reads dpkg.cfg.d in name order, after the image's `docker`).
RUN echo 'path-include=/usr/share/doc/gammu-smsd/examples/sqlite.sql' >/etc/dpkg/dpkg.cfg.d/gammu-smsd-schema
# Versions come from the pinned Debian release (see docker/Dockerfile).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gammu-smsd libdbd-sqlite3 sqlite3 \
    && rm -rf /var/lib/apt/lists/* \
    && test -f /usr/share/doc/gammu-smsd/examples/sqlite.sql \
    && groupadd --gid 10001 sambat \
    && useradd --uid 10001 --gid sambat --no-create-home --home-dir /var/lib/gammu --shell /usr/sbin/nologin sambat \
    && install -d -o sambat -g sambat -m 0700 /var/lib/gammu
COPY smsdrc /etc/gammu-smsdrc
COPY smsd-start.sh /usr/local/bin/smsd-start
# The same uid as the sambat image: central writes replies into this database and marks what it read.
USER 10001:10001
VOLUME ["/var/lib/gammu"]
HEALTHCHECK --interval=10s --timeout=10s --start-period=10s --retries=3 \
    CMD ["/bin/sh", "-c", "test \"$(sqlite3 -readonly -cmd '.timeout 5000' /var/lib/gammu/smsd.db 'SELECT Version FROM gammu')\" = 17"]
ENTRYPOINT ["/usr/local/bin/smsd-start"]
