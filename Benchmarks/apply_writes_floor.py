#!/usr/bin/env python3
"""Cross-check of `sambat bench store`'s "writes alone" ceiling, outside Swift.

Issues the statements a remote apply at central issues for the store benchmark's workload
(100,000 status ops over 10,000 cases, round-robin, batches of 500, each batch one
transaction) against the same tables and indexes (schema v5), with WAL, synchronous=FULL
and a 64 MiB page cache, through Python's sqlite3 with executemany (whose own cost per row
only lowers the figure).

If this is far below 100,000 ops/s, the store target is out of reach for any code that
keeps this schema and commits each batch durably. Usage: python3 apply_writes_floor.py [dir]
"""

import os
import shutil
import sqlite3
import sys
import tempfile
import time

SCHEMA = """
CREATE TABLE op (origin TEXT NOT NULL, seq INTEGER NOT NULL, caseId TEXT NOT NULL,
    lamport INTEGER NOT NULL, kind INTEGER NOT NULL, bytes BLOB NOT NULL, hash BLOB NOT NULL,
    receivedAt INTEGER NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID;
CREATE INDEX opByCase ON op(caseId);
CREATE TABLE frontier (origin TEXT PRIMARY KEY, contiguous INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE caseView (caseId TEXT PRIMARY KEY, status INTEGER NOT NULL, phase INTEGER NOT NULL,
    tier INTEGER, topic TEXT NOT NULL DEFAULT '', channel INTEGER,
    activeOffices TEXT NOT NULL DEFAULT '', openConflicts INTEGER NOT NULL DEFAULT 0,
    opCount INTEGER NOT NULL, lamport INTEGER NOT NULL, receivedAt INTEGER,
    updatedAt INTEGER NOT NULL, dueAt INTEGER) WITHOUT ROWID;
CREATE INDEX caseViewByStatus ON caseView(status, receivedAt);
CREATE INDEX caseViewByDue ON caseView(dueAt) WHERE dueAt IS NOT NULL;
CREATE TABLE assignment (caseId TEXT NOT NULL, office TEXT NOT NULL, epoch INTEGER NOT NULL,
    status INTEGER NOT NULL, dispatchedOp TEXT NOT NULL, dispatchedAt INTEGER,
    acknowledgedAt INTEGER, startedAt INTEGER, resolvedAt INTEGER, endedAt INTEGER,
    PRIMARY KEY (caseId, office)) WITHOUT ROWID;
CREATE INDEX assignmentByOffice ON assignment(office, status);
CREATE TABLE feed (peer TEXT NOT NULL, feedSeq INTEGER NOT NULL, origin TEXT NOT NULL,
    seq INTEGER NOT NULL, runLength INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (peer, feedSeq)) WITHOUT ROWID;
"""

CASES, STEPS, BATCH = 10_000, 10, 500


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="sambat-floor-")
    path = os.path.join(folder, "floor.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA cache_size = -65536")
    db.executescript(SCHEMA)
    body, digest = os.urandom(75), os.urandom(32)
    cases = ["MJK-20261101-%05d" % (index + 1) for index in range(CASES)]

    # Set-up, not timed: central's three ops per case, its case row and the assignment.
    db.execute("BEGIN")
    seq = 0
    for case in cases:
        for kind in range(3):
            seq += 1
            db.execute("INSERT INTO op VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       ("central#1", seq, case, seq, kind, body, digest, 1))
        db.execute("INSERT INTO caseView VALUES (?, 2, 1, 1, 'Lampu jalan', 1, 'dpupr', 0, 3, ?, 1, 1, NULL)",
                   (case, seq))
        db.execute("INSERT INTO assignment VALUES (?, 'dpupr', 1, 1, ?, 1, NULL, NULL, NULL, NULL)",
                   (case, "central#1/%d" % seq))
    db.execute("COMMIT")

    # The office's backlog: acknowledge, start, notes, resolve per case, round-robin.
    ops = [(case, step) for step in range(STEPS) for case in cases]
    start = time.perf_counter()
    feed_seq, office_seq = 0, 0
    for first in range(0, len(ops), BATCH):
        batch = ops[first:first + BATCH]
        seqs = range(office_seq + 1, office_seq + len(batch) + 1)
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR IGNORE INTO op VALUES (?, ?, ?, ?, 7, ?, ?, 2)",
                       [("dpupr#1", s, case, s, body, digest) for s, (case, _) in zip(seqs, batch)])
        db.executemany(
            "UPDATE caseView SET opCount = opCount + 1, lamport = ?2, updatedAt = MAX(updatedAt, 2)"
            " WHERE caseId = ?1",
            [(case, s) for s, (case, _) in zip(seqs, batch)])
        db.executemany(
            "UPDATE assignment SET status = ?2, acknowledgedAt = IIF(?2 = 2, 2, acknowledgedAt)"
            " WHERE caseId = ?1 AND office = 'dpupr'",
            [(case, step + 2) for case, step in batch if step in (0, 1, STEPS - 1)])
        office_seq += len(batch)
        feed_seq += len(batch)
        db.execute("INSERT INTO feed VALUES ('dpupr', ?, 'dpupr#1', ?, ?)", (feed_seq, seqs[0], len(batch)))
        db.execute("INSERT INTO frontier VALUES ('dpupr#1', ?) ON CONFLICT (origin) DO UPDATE SET"
                   " contiguous = excluded.contiguous", (office_seq,))
        db.execute("COMMIT")
    writes = time.perf_counter() - start

    db.close()
    if len(sys.argv) <= 1:
        shutil.rmtree(folder)
    print('{"writes_ops_per_s": %d}' % (len(ops) / writes))


if __name__ == "__main__":
    main()
