import GRDB

/// The store's schema as a list of versioned migrations.
///
/// Migrations are never edited once released: a change is a new migration. A database
/// written by a newer build (with migrations this one does not know) is refused at open.
/// Table and column names are camelCase (house style N6).
enum StoreSchema {
    /// Identifiers of every migration, oldest first.
    static let versions = [
        "v1-oplog", "v2-projections", "v3-central", "v4-feed-epoch", "v5-feed-runs", "v7-intake",
    ]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-oplog") { db in
            // One row: who this database belongs to and the author clock of its current incarnation.
            try db.execute(
                sql: """
                    CREATE TABLE nodeMeta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        node TEXT NOT NULL,
                        role TEXT NOT NULL,
                        central TEXT NOT NULL,
                        incarnation INTEGER NOT NULL CHECK (incarnation >= 1),
                        nextSeq INTEGER NOT NULL CHECK (nextSeq >= 1),
                        lamport INTEGER NOT NULL CHECK (lamport >= 0),
                        restorePending INTEGER NOT NULL DEFAULT 0,
                        createdAt INTEGER NOT NULL
                    );
                    -- The op log: canonical bytes verbatim, identified by (origin, seq).
                    -- receivedAt is central's receive time (local metadata, not part of the op).
                    CREATE TABLE op (
                        origin TEXT NOT NULL,
                        seq INTEGER NOT NULL CHECK (seq >= 1),
                        caseId TEXT NOT NULL,
                        lamport INTEGER NOT NULL,
                        kind INTEGER NOT NULL,
                        bytes BLOB NOT NULL,
                        hash BLOB NOT NULL,
                        receivedAt INTEGER NOT NULL,
                        PRIMARY KEY (origin, seq)
                    ) WITHOUT ROWID;
                    CREATE INDEX opByCase ON op(caseId);
                    -- Highest contiguous seq held per origin (ops and quarantined ops both count).
                    CREATE TABLE frontier (
                        origin TEXT PRIMARY KEY,
                        contiguous INTEGER NOT NULL CHECK (contiguous >= 0)
                    ) WITHOUT ROWID;
                    -- Ops refused by authorization: kept for audit, counted toward the frontier.
                    CREATE TABLE quarantine (
                        origin TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        caseId TEXT NOT NULL,
                        bytes BLOB NOT NULL,
                        hash BLOB NOT NULL,
                        reason TEXT NOT NULL,
                        peer TEXT NOT NULL,
                        receivedAt INTEGER NOT NULL,
                        PRIMARY KEY (origin, seq)
                    ) WITHOUT ROWID;
                    -- An (origin, seq) offered again with different bytes: never accepted, always recorded.
                    CREATE TABLE integrityAlarm (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        origin TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        storedHash BLOB NOT NULL,
                        offeredHash BLOB NOT NULL,
                        peer TEXT NOT NULL,
                        receivedAt INTEGER NOT NULL
                    );
                    -- Seqs held above a gap, derived so it can never drift from the log.
                    CREATE VIEW heldAboveGap AS
                        SELECT origin, seq FROM (
                            SELECT origin, seq FROM op UNION SELECT origin, seq FROM quarantine
                        ) AS held
                        WHERE seq > COALESCE((SELECT contiguous FROM frontier WHERE frontier.origin = held.origin), 0);
                    -- Enrolled peers (central) with their role and public key.
                    CREATE TABLE peer (
                        node TEXT PRIMARY KEY,
                        role TEXT NOT NULL,
                        publicKey TEXT NOT NULL DEFAULT '',
                        status TEXT NOT NULL,
                        changedAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    -- Central's per-peer outbound feed: feedSeq + 1 per op the peer should see.
                    CREATE TABLE feed (
                        peer TEXT NOT NULL,
                        feedSeq INTEGER NOT NULL CHECK (feedSeq >= 1),
                        origin TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        PRIMARY KEY (peer, feedSeq)
                    ) WITHOUT ROWID;
                    -- Per-peer positions: at an office, how far it has applied central's feed;
                    -- at central, how far each peer has acknowledged its feed.
                    CREATE TABLE checkpoint (
                        peer TEXT PRIMARY KEY,
                        position INTEGER NOT NULL CHECK (position >= 0)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v2-projections") { db in
            try db.execute(
                sql: """
                    -- What consoles and reports list; rebuilt from the op log when missing.
                    CREATE TABLE caseView (
                        caseId TEXT PRIMARY KEY,
                        status INTEGER NOT NULL,
                        phase INTEGER NOT NULL,
                        tier INTEGER,
                        topic TEXT NOT NULL DEFAULT '',
                        channel INTEGER,
                        activeOffices TEXT NOT NULL DEFAULT '',
                        openConflicts INTEGER NOT NULL DEFAULT 0,
                        opCount INTEGER NOT NULL,
                        lamport INTEGER NOT NULL,
                        receivedAt INTEGER,
                        updatedAt INTEGER NOT NULL,
                        dueAt INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX caseViewByStatus ON caseView(status, receivedAt);
                    CREATE INDEX caseViewByDue ON caseView(dueAt) WHERE dueAt IS NOT NULL;
                    CREATE TABLE assignment (
                        caseId TEXT NOT NULL,
                        office TEXT NOT NULL,
                        epoch INTEGER NOT NULL,
                        status INTEGER NOT NULL,
                        dispatchedOp TEXT NOT NULL,
                        dispatchedAt INTEGER,
                        acknowledgedAt INTEGER,
                        startedAt INTEGER,
                        resolvedAt INTEGER,
                        endedAt INTEGER,
                        PRIMARY KEY (caseId, office)
                    ) WITHOUT ROWID;
                    CREATE INDEX assignmentByOffice ON assignment(office, status);
                    CREATE TABLE caseConflict (
                        caseId TEXT NOT NULL,
                        conflictId TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        office TEXT,
                        ops TEXT NOT NULL,
                        resolvedBy TEXT,
                        PRIMARY KEY (caseId, conflictId)
                    ) WITHOUT ROWID;
                    CREATE INDEX caseConflictOpen ON caseConflict(caseId) WHERE resolvedBy IS NULL;
                    CREATE TABLE evidence (
                        caseId TEXT NOT NULL,
                        op TEXT NOT NULL,
                        sha256 BLOB NOT NULL,
                        size INTEGER NOT NULL,
                        mimeType TEXT NOT NULL,
                        name TEXT NOT NULL,
                        stored INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (caseId, op)
                    ) WITHOUT ROWID;
                    CREATE INDEX evidenceBySha ON evidence(sha256);
                    """
            )
        }
        migrator.registerMigration("v3-central") { db in
            try db.execute(
                sql: """
                    -- Central only. Identity is AES-GCM sealed; ref is the pseudonym ops carry.
                    CREATE TABLE reporter (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        ref TEXT NOT NULL UNIQUE,
                        sealedIdentity BLOB NOT NULL,
                        createdAt INTEGER NOT NULL
                    );
                    -- Central only. Raw inbound messages, sealed; unique per channel message id.
                    CREATE TABLE intakeMessage (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        channel TEXT NOT NULL,
                        externalId TEXT NOT NULL,
                        receivedAt INTEGER NOT NULL,
                        sealedBody BLOB NOT NULL,
                        caseId TEXT,
                        UNIQUE (channel, externalId)
                    );
                    """
            )
        }
        migrator.registerMigration("v4-feed-epoch") { db in
            // At an office or the mayor: which numbering of central's feed the position is in
            // (central's incarnation); 0 for positions saved before this column existed.
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v5-feed-runs") { db in
            // At central: a feed row covers `runLength` consecutive seqs of its origin, which
            // take the positions up to and including `feedSeq`. Older rows are runs of one.
            try db.execute(
                sql: "ALTER TABLE feed ADD COLUMN runLength INTEGER NOT NULL DEFAULT 1 CHECK (runLength >= 1)"
            )
        }
        migrator.registerMigration("v7-intake") { db in
            try db.execute(
                sql: """
                    -- Central only. Which reporter (pseudonymous reference) each inbound message came
                    -- from, and when it was processed: a message is stored before it is answered,
                    -- and one stored but not processed is taken up again after a restart.
                    ALTER TABLE intakeMessage ADD COLUMN reporterRef TEXT;
                    ALTER TABLE intakeMessage ADD COLUMN processedAt INTEGER;
                    CREATE INDEX intakeMessageByReporter ON intakeMessage(reporterRef, channel, receivedAt);
                    CREATE INDEX intakeMessageUnprocessed ON intakeMessage(id) WHERE processedAt IS NULL;
                    -- Central only. The cases each reporter opened: threading joins a later message
                    -- to the newest open one.
                    -- notifiedOps: how many of the case's ops the reporter's notices have been
                    -- derived from; done: closed or archived and notified, no longer watched.
                    CREATE TABLE reporterCase (
                        ref TEXT NOT NULL,
                        caseId TEXT NOT NULL,
                        openedAt INTEGER NOT NULL,
                        awaitsIdentity INTEGER NOT NULL DEFAULT 0,
                        notifiedOps INTEGER NOT NULL DEFAULT 0,
                        done INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (ref, caseId)
                    ) WITHOUT ROWID;
                    CREATE INDEX reporterCaseWatched ON reporterCase(caseId) WHERE done = 0;
                    -- Central only. Messages to reporters, with their delivery state; the
                    -- idempotency key (event and case) makes each notice go out at most once.
                    CREATE TABLE outboundMessage (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        idempotencyKey TEXT NOT NULL UNIQUE,
                        caseId TEXT,
                        channel INTEGER NOT NULL,
                        sealedRecipient BLOB NOT NULL,
                        body TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'read', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        nextAttemptAt INTEGER NOT NULL,
                        providerId TEXT,
                        lastError TEXT,
                        createdAt INTEGER NOT NULL,
                        updatedAt INTEGER NOT NULL
                    );
                    CREATE INDEX outboundDue ON outboundMessage(nextAttemptAt) WHERE state = 'queued';
                    CREATE INDEX outboundByProvider ON outboundMessage(providerId);
                    CREATE INDEX outboundByCase ON outboundMessage(caseId);
                    CREATE INDEX outboundByState ON outboundMessage(state, channel, id);
                    -- Central only. Every time staff opened a reporter's identity: who, when, which
                    -- case and why; never the identity itself.
                    CREATE TABLE identityAudit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        caseId TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE INDEX identityAuditByCase ON identityAudit(caseId, at);
                    """
            )
        }
        migrator.registerMigration("v8-intake-media") { db in
            try db.execute(
                sql: """
                    -- A WhatsApp notice outside the 24-hour window goes as an approved template
                    -- ("name:language") when one is configured.
                    ALTER TABLE outboundMessage ADD COLUMN template TEXT;
                    -- Media a reporter sent, waiting to be fetched from the Graph API and kept
                    -- as evidence of its case. One row per message, written when the message
                    -- is processed (its case is known). No file name is kept: it may name the
                    -- reporter.
                    CREATE TABLE mediaFetch (
                        messageId INTEGER PRIMARY KEY,
                        caseId TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        mediaId TEXT NOT NULL,
                        mimeType TEXT NOT NULL,
                        expectedSha256 TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        nextAttemptAt INTEGER NOT NULL,
                        lastError TEXT,
                        sha256 BLOB,
                        size INTEGER,
                        updatedAt INTEGER NOT NULL
                    );
                    CREATE INDEX mediaFetchDue ON mediaFetch(nextAttemptAt) WHERE state = 'pending';
                    CREATE INDEX mediaFetchByCase ON mediaFetch(caseId);
                    """
            )
        }
        migrator.registerMigration("v9-projection-reads") { db in
            try db.execute(
                sql: """
                    -- What listings, the queue, the report and the recap read without folding.
                    ALTER TABLE caseView ADD COLUMN subject TEXT NOT NULL DEFAULT '';
                    ALTER TABLE caseView ADD COLUMN closedAt INTEGER;
                    ALTER TABLE caseView ADD COLUMN archivedAt INTEGER;
                    ALTER TABLE caseView ADD COLUMN archiveReason INTEGER;
                    ALTER TABLE assignment ADD COLUMN dueAt INTEGER;
                    ALTER TABLE assignment ADD COLUMN acknowledgeWork INTEGER;
                    ALTER TABLE assignment ADD COLUMN followUpWork INTEGER;
                    ALTER TABLE assignment ADD COLUMN followUpLate INTEGER NOT NULL DEFAULT 0;
                    -- Active, not yet followed up, on an open case: what the report counts as open.
                    ALTER TABLE assignment ADD COLUMN isOpen INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE caseConflict ADD COLUMN recordedAt INTEGER;
                    -- The fingerprint of the deadline policy the due times were computed with;
                    -- NULL when they are not current (opened without one, or never computed).
                    ALTER TABLE nodeMeta ADD COLUMN deadlines TEXT;
                    -- Every stage clock of every case: its start, deadline and end.
                    CREATE TABLE caseStage (
                        caseId TEXT NOT NULL,
                        stage INTEGER NOT NULL,
                        office TEXT NOT NULL,
                        startedAt INTEGER NOT NULL,
                        dueAt INTEGER NOT NULL,
                        doneAt INTEGER,
                        PRIMARY KEY (caseId, stage, office)
                    ) WITHOUT ROWID;
                    CREATE INDEX caseStageOpen ON caseStage(dueAt, startedAt) WHERE doneAt IS NULL;
                    CREATE INDEX caseStageDone ON caseStage(doneAt, dueAt, startedAt) WHERE doneAt IS NOT NULL;
                    CREATE INDEX caseViewByReceived ON caseView(receivedAt);
                    CREATE INDEX caseViewByClosed ON caseView(closedAt) WHERE closedAt IS NOT NULL;
                    CREATE INDEX caseViewByArchived ON caseView(archivedAt) WHERE archivedAt IS NOT NULL;
                    CREATE INDEX assignmentOfficeDue ON assignment(office, dueAt) WHERE dueAt IS NOT NULL;
                    CREATE INDEX assignmentDue ON assignment(dueAt) WHERE dueAt IS NOT NULL;
                    CREATE INDEX assignmentDispatchedAt ON assignment(dispatchedAt);
                    CREATE INDEX assignmentResolvedAt ON assignment(resolvedAt, dispatchedAt) WHERE resolvedAt IS NOT NULL;
                    CREATE INDEX caseConflictRecorded ON caseConflict(recordedAt);
                    -- Per office, kept by the projection as assignments change: the report's
                    -- counts without a scan of every assignment.
                    CREATE TABLE officeStats (
                        office TEXT PRIMARY KEY,
                        assigned INTEGER NOT NULL DEFAULT 0,
                        returned INTEGER NOT NULL DEFAULT 0,
                        resolved INTEGER NOT NULL DEFAULT 0,
                        resolvedLate INTEGER NOT NULL DEFAULT 0,
                        open INTEGER NOT NULL DEFAULT 0,
                        acknowledged INTEGER NOT NULL DEFAULT 0,
                        followedUp INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID;
                    -- How many of an office's assignments took each whole office minute to be
                    -- acknowledged (metric 1) or followed up (metric 2), and per office hour:
                    -- the report's percentiles walk the hours, then one hour's minutes.
                    CREATE TABLE officeWork (
                        office TEXT NOT NULL,
                        metric INTEGER NOT NULL,
                        minute INTEGER NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (office, metric, minute)
                    ) WITHOUT ROWID;
                    CREATE TABLE officeWorkHour (
                        office TEXT NOT NULL,
                        metric INTEGER NOT NULL,
                        hour INTEGER NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (office, metric, hour)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v10-web-accounts") { db in
            try db.execute(
                sql: """
                    -- This node's staff accounts for its web console; never synced. The name is
                    -- the actor of every op the account writes.
                    CREATE TABLE account (
                        name TEXT PRIMARY KEY,
                        displayName TEXT NOT NULL,
                        passwordHash TEXT NOT NULL,
                        isDisabled INTEGER NOT NULL DEFAULT 0,
                        createdAt INTEGER NOT NULL,
                        changedAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    -- Signed-in browsers: only the SHA-256 of the cookie's token is kept, so a
                    -- copy of the store lets no one in.
                    CREATE TABLE webSession (
                        tokenHash BLOB PRIMARY KEY,
                        account TEXT NOT NULL REFERENCES account(name) ON DELETE CASCADE,
                        csrfToken TEXT NOT NULL,
                        createdAt INTEGER NOT NULL,
                        lastSeenAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX webSessionByAccount ON webSession(account);
                    """
            )
        }
        migrator.registerMigration("v11-open311") { db in
            try db.execute(
                sql: """
                    -- Central only. The API keys of the city's apps and CRMs posting Open311
                    -- requests: only each key's SHA-256 is kept.
                    CREATE TABLE open311Key (
                        name TEXT PRIMARY KEY,
                        keyHash BLOB NOT NULL UNIQUE,
                        createdAt INTEGER NOT NULL,
                        revokedAt INTEGER
                    ) WITHOUT ROWID;
                    -- Central only. The Open311 service and coordinates a request came with.
                    CREATE TABLE open311Request (
                        caseId TEXT PRIMARY KEY,
                        serviceCode TEXT NOT NULL,
                        client TEXT NOT NULL,
                        latitude REAL,
                        longitude REAL,
                        createdAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v12-sync-health") { db in
            try db.execute(
                sql: """
                    -- Central only. When central last heard from each peer, and the highest seq
                    -- the peer said it authored under its origin (HELLO or an upload): what
                    -- central reports to the mayor as the peer's sync health.
                    CREATE TABLE peerContact (
                        node TEXT PRIMARY KEY,
                        lastSeenAt INTEGER NOT NULL,
                        origin TEXT NOT NULL,
                        claimedSeq INTEGER NOT NULL CHECK (claimedSeq >= 0)
                    ) WITHOUT ROWID;
                    -- Mayor only. Central's latest sync-health report, one row per node.
                    CREATE TABLE nodeHealth (
                        node TEXT PRIMARY KEY,
                        role TEXT NOT NULL,
                        connected INTEGER NOT NULL,
                        lastSeenAt INTEGER,
                        feedBehind INTEGER NOT NULL,
                        uploadBehind INTEGER NOT NULL,
                        reportedAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v13-lean-case-row") { db in
            // A note rewrote its case row only to bump columns nothing needs: the Lamport time
            // and update time (read by nothing) and the op count (read by the reporter
            // notices, which notes never change). The row now counts only the ops that are not
            // notes or evidence (`changeCount`), so a note leaves it alone. Watched reporters'
            // cases are looked at again once: notices are queued idempotently, so nothing is
            // sent twice. (8 and 14 are the op kinds `noted` and `evidenceAdded`, frozen here as
            // the migration ran.)
            try db.execute(
                sql: """
                    ALTER TABLE caseView DROP COLUMN lamport;
                    ALTER TABLE caseView DROP COLUMN updatedAt;
                    ALTER TABLE caseView RENAME COLUMN opCount TO changeCount;
                    UPDATE caseView SET changeCount = (
                        SELECT COUNT(*) FROM op WHERE op.caseId = caseView.caseId AND op.kind NOT IN (8, 14)
                    );
                    ALTER TABLE reporterCase RENAME COLUMN notifiedOps TO notifiedChanges;
                    UPDATE reporterCase SET notifiedChanges = 0 WHERE done = 0;
                    """
            )
        }
        migrator.registerMigration("v14-projection-journal") { db in
            // The op log is the commit point: a batch from a peer commits its ops, frontier and
            // feed position, and a row here naming its ops; the projection rows follow in a
            // later transaction, which deletes the rows it has caught up with. What is here on
            // open is projected before the store serves a read. AUTOINCREMENT: an id is never
            // reused, so a process can tell whether the rows it wrote are still the pending ones.
            try db.execute(
                sql: """
                    CREATE TABLE projectionJournal (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        ops BLOB NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v15-integer-log-keys") { db in
            // The op log is the one table written once per op; keyed by text, each insert
            // compared origin names and ticket numbers byte by byte in two B-trees. The log now
            // keys an origin by a row of `origin` and a case by its ticket packed into an
            // integer (`CaseKey`). The text stays in the op bytes, in the projections and at
            // the edges; the frontier, feed and quarantine, written per batch, keep it too.
            // Ops keep their order: the new table is filled in key order, then swapped in.
            db.add(function: CaseKey.sqlFunction)
            defer { db.remove(function: CaseKey.sqlFunction) }
            try db.execute(
                sql: """
                    CREATE TABLE origin (
                        key INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE
                    );
                    INSERT INTO origin (name)
                        SELECT origin FROM op UNION SELECT origin FROM frontier
                        UNION SELECT origin FROM quarantine ORDER BY 1;
                    CREATE TABLE opKeyed (
                        originKey INTEGER NOT NULL,
                        seq INTEGER NOT NULL CHECK (seq >= 1),
                        caseKey INTEGER NOT NULL,
                        lamport INTEGER NOT NULL,
                        kind INTEGER NOT NULL,
                        bytes BLOB NOT NULL,
                        hash BLOB NOT NULL,
                        receivedAt INTEGER NOT NULL,
                        PRIMARY KEY (originKey, seq)
                    ) WITHOUT ROWID;
                    INSERT INTO opKeyed
                        SELECT origin.key, op.seq, sambatCaseKey(op.caseId), op.lamport, op.kind, op.bytes,
                            op.hash, op.receivedAt
                        FROM op JOIN origin ON origin.name = op.origin
                        ORDER BY origin.key, op.seq;
                    DROP VIEW heldAboveGap;
                    DROP TABLE op;
                    ALTER TABLE opKeyed RENAME TO op;
                    CREATE INDEX opByCase ON op(caseKey);
                    CREATE VIEW heldAboveGap AS
                        SELECT origin, seq FROM (
                            SELECT origin.name AS origin, op.seq AS seq FROM op JOIN origin ON origin.key = op.originKey
                            UNION SELECT origin, seq FROM quarantine
                        ) AS held
                        WHERE seq > COALESCE((SELECT contiguous FROM frontier WHERE frontier.origin = held.origin), 0);
                    """
            )
        }
        return migrator
    }
}
