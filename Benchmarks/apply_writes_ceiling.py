#!/usr/bin/env python3
"""A rough cross-check, outside Swift, of `sambat bench store`'s "writes alone" figure.

Writes what a remote apply at central writes for the store benchmark's workload (100,000
status ops over 10,000 cases, round-robin, batches of 500, each batch one transaction): op
rows, case rows (counters for a note; status and phase for acknowledge, start and resolve),
assignment rows, one feed run, the frontier and the Lamport clock. Same tables and indexes
(schema v5), WAL, synchronous=FULL, a 64 MiB page cache; Python's sqlite3 with executemany.

It writes with plain UPDATEs and skips the apply's reads, so it errs on the fast side; Python's
own cost per row errs the other way. A plausibility check that SQLite and the disk, not the
Swift binding, put the writes in the range the benchmark reports, not a bound.
Usage: python3 apply_writes_ceiling.py [directory to keep the database in]
"""

import os
import shutil
import sqlite3
import sys
import tempfile
import time

SCHEMA = """
CREATE TABLE nodeMeta (id INTEGER PRIMARY KEY CHECK (id = 1), lamport INTEGER NOT NULL);
CREATE TABLE op (origin TEXT NOT NULL, seq INTEGER NOT NULL CHECK (seq >= 1), caseId TEXT NOT NULL,
    lamport INTEGER NOT NULL, kind INTEGER NOT NULL, bytes BLOB NOT NULL, hash BLOB NOT NULL,
    receivedAt INTEGER NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID;
CREATE INDEX opByCase ON op(caseId);
CREATE TABLE frontier (origin TEXT PRIMARY KEY, contiguous INTEGER NOT NULL CHECK (contiguous >= 0))
    WITHOUT ROWID;
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
CREATE TABLE feed (peer TEXT NOT NULL, feedSeq INTEGER NOT NULL CHECK (feedSeq >= 1), origin TEXT NOT NULL,
    seq INTEGER NOT NULL, runLength INTEGER NOT NULL DEFAULT 1 CHECK (runLength >= 1),
    PRIMARY KEY (peer, feedSeq)) WITHOUT ROWID;
"""

CASES, STEPS, BATCH = 10_000, 10, 500
# Steps that change status: (case status, assignment status) after acknowledge, start, resolve.
STATUS = {0: (6, 2), 1: (7, 3), STEPS - 1: (8, 4)}


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="sambat-ceiling-")
    path = os.path.join(folder, "ceiling.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA cache_size = -65536")
    db.executescript(SCHEMA)
    body, digest = os.urandom(75), os.urandom(32)
    cases = ["MJK-261101-%04d" % (index + 1) for index in range(CASES)]

    # Set-up, not timed: central's three ops per case, its case row and the assignment.
    db.execute("BEGIN")
    db.execute("INSERT INTO nodeMeta VALUES (1, 0)")
    seq = 0
    for case in cases:
        for kind in range(3):
            seq += 1
            db.execute("INSERT INTO op VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       ("central#1", seq, case, seq, kind, body, digest, 1))
        db.execute("INSERT INTO caseView VALUES (?, 5, 5, 1, 'Lampu jalan', 1, 'dpupr', 0, 3, ?, 1, 1, NULL)",
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
        notes = [(case, s) for s, (case, step) in zip(seqs, batch) if step not in STATUS]
        changes = [(case, s, STATUS[step][0]) for s, (case, step) in zip(seqs, batch) if step in STATUS]
        db.executemany(
            "UPDATE caseView SET opCount = opCount + 1, lamport = ?2, updatedAt = MAX(updatedAt, 2)"
            " WHERE caseId = ?1", notes)
        db.executemany(
            "UPDATE caseView SET status = ?3, phase = 5, opCount = opCount + 1, lamport = ?2,"
            " updatedAt = MAX(updatedAt, 2) WHERE caseId = ?1", changes)
        db.executemany(
            "UPDATE assignment SET status = ?2, acknowledgedAt = IIF(?2 = 2, 2, acknowledgedAt),"
            " startedAt = IIF(?2 = 3, 2, startedAt), resolvedAt = IIF(?2 = 4, 2, resolvedAt)"
            " WHERE caseId = ?1 AND office = 'dpupr'",
            [(case, STATUS[step][1]) for case, step in batch if step in STATUS])
        office_seq += len(batch)
        feed_seq += len(batch)
        db.execute("INSERT INTO feed VALUES ('dpupr', ?, 'dpupr#1', ?, ?)", (feed_seq, seqs[0], len(batch)))
        db.execute("INSERT INTO frontier VALUES ('dpupr#1', ?) ON CONFLICT (origin) DO UPDATE SET"
                   " contiguous = excluded.contiguous", (office_seq,))
        db.execute("UPDATE nodeMeta SET lamport = MAX(lamport, ?) WHERE id = 1", (office_seq,))
        db.execute("COMMIT")
    writes = time.perf_counter() - start

    db.close()
    if len(sys.argv) <= 1:
        shutil.rmtree(folder)
    print('{"writes_ops_per_s": %d}' % (len(ops) / writes))


if __name__ == "__main__":
    main()
