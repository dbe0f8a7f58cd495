"""The one place that opens the database and owns its schema.

Routes never open connections themselves: they call ``get_db()``. The schema
is a list of migrations applied in order; ``PRAGMA user_version`` records how
far a data folder has come, so an old folder is brought up to date on start.
"""
import contextlib
import os
import sqlite3
import tempfile
import textwrap
import threading
from pathlib import Path

import sqlite_utils
from flask import current_app, g

from . import chain

# Each entry is applied once, in order, inside a transaction: SQL, or a
# function given the database for a step SQL alone cannot take. Append only:
# never edit a migration that has shipped.
MIGRATIONS = [
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'inspector')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE catalogs (
        id INTEGER PRIMARY KEY,
        edition TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        illustrative INTEGER NOT NULL DEFAULT 0,
        imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    -- Sections are the top-level rows (parent ''); every other row is a
    -- standard an inspector assesses. section_code is the root ancestor.
    CREATE TABLE standards (
        catalog_id INTEGER NOT NULL REFERENCES catalogs(id),
        code TEXT NOT NULL,
        parent TEXT NOT NULL,
        section_code TEXT NOT NULL,
        position INTEGER NOT NULL,
        depth INTEGER NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        guidance TEXT NOT NULL,
        roles TEXT NOT NULL,
        PRIMARY KEY (catalog_id, code)
    );
    CREATE INDEX standards_section ON standards(catalog_id, section_code, position);
    CREATE TABLE inspections (
        id INTEGER PRIMARY KEY,
        site_name TEXT NOT NULL,
        catalog_id INTEGER NOT NULL REFERENCES catalogs(id),
        starts_on TEXT NOT NULL,
        ends_on TEXT NOT NULL,
        created_by INTEGER NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE members (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        team_role TEXT NOT NULL CHECK (team_role IN ('lead', 'inspector')),
        PRIMARY KEY (inspection_id, user_id)
    );
    CREATE INDEX members_user ON members(user_id);
    CREATE TABLE assignments (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        section_code TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id),
        PRIMARY KEY (inspection_id, section_code, user_id)
    );
    -- The op log: every write as received, append only. seq is the server's
    -- cursor for pull; op_id is the client's idempotency key.
    CREATE TABLE ops (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        op_id TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id),
        device_id TEXT NOT NULL,
        device_seq INTEGER NOT NULL,
        hlc TEXT NOT NULL,
        inspection_id INTEGER NOT NULL,
        standard_code TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('applied', 'superseded')),
        received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX ops_inspection ON ops(inspection_id, seq);
    -- Materialised state. A finding belongs to (inspection, standard,
    -- inspector); each field keeps the hlc of the op that set it, so the
    -- last writer by hlc wins whatever order ops arrive in.
    CREATE TABLE findings (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        inspector_id INTEGER NOT NULL REFERENCES users(id),
        verdict TEXT,
        verdict_hlc TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        note_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, inspector_id)
    );
    CREATE INDEX findings_seq ON findings(inspection_id, last_seq);
    CREATE TABLE finding_photos (
        inspection_id INTEGER NOT NULL,
        standard_code TEXT NOT NULL,
        inspector_id INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        attached INTEGER NOT NULL,
        attached_hlc TEXT NOT NULL DEFAULT '',
        caption TEXT NOT NULL DEFAULT '',
        caption_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, inspector_id, sha256)
    );
    CREATE INDEX finding_photos_seq ON finding_photos(inspection_id, last_seq);
    -- Blobs live on disk by hash; this row says the server verified one.
    CREATE TABLE photos (
        sha256 TEXT PRIMARY KEY,
        bytes INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    -- Who uploaded which blob: before it is attached, only its uploaders
    -- may read it.
    CREATE TABLE photo_uploads (
        sha256 TEXT NOT NULL REFERENCES photos(sha256),
        user_id INTEGER NOT NULL REFERENCES users(id),
        PRIMARY KEY (sha256, user_id)
    );
    """,
    # push and pull answer with the newest stamp seen: keep that a lookup.
    """
    CREATE INDEX ops_hlc ON ops(hlc);
    """,
    # The new-inspection form carries an id made when the form was shown, so
    # a double tap or a resend after a dropped answer creates one inspection.
    """
    ALTER TABLE inspections ADD COLUMN request_id TEXT;
    CREATE UNIQUE INDEX inspections_request ON inspections(request_id);
    """,
    # The newest stamp is answered per inspection, not server-wide.
    """
    DROP INDEX ops_hlc;
    CREATE INDEX ops_inspection_hlc ON ops(inspection_id, hlc);
    """,
    # Failed logins, to slow down password guessing per username.
    """
    CREATE TABLE login_failures (
        username TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX login_failures_user ON login_failures(username, at);
    """,
    # Writers other than "my own finding": the log records its actor, a user
    # or (for the site's answers) an issued review link, so ops.user_id may be
    # NULL and gives way to a CHECK that exactly one actor is named. A log row
    # is written once with its final status (the audit chain will hash rows).
    # An inspection has a state that push enforces. SQLite cannot relax NOT
    # NULL in place, so the log is copied into a new table.
    """
    CREATE TABLE review_links (
        id INTEGER PRIMARY KEY,
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        issued_to TEXT NOT NULL,
        email TEXT NOT NULL,
        issued_by INTEGER NOT NULL REFERENCES users(id),
        issued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE ops_v2 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        op_id TEXT NOT NULL UNIQUE,
        user_id INTEGER REFERENCES users(id),
        link_id INTEGER REFERENCES review_links(id),
        device_id TEXT NOT NULL,
        device_seq INTEGER NOT NULL,
        hlc TEXT NOT NULL,
        inspection_id INTEGER NOT NULL,
        standard_code TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('applied', 'superseded')),
        received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        CHECK ((user_id IS NULL) != (link_id IS NULL))
    );
    INSERT INTO ops_v2 (seq, op_id, user_id, device_id, device_seq, hlc, inspection_id, standard_code, field,
                        value, status, received_at)
        SELECT seq, op_id, user_id, device_id, device_seq, hlc, inspection_id, standard_code, field, value,
               status, received_at FROM ops ORDER BY seq;
    DROP TABLE ops;
    ALTER TABLE ops_v2 RENAME TO ops;
    CREATE INDEX ops_inspection ON ops(inspection_id, seq);
    CREATE INDEX ops_inspection_hlc ON ops(inspection_id, hlc);
    -- The log is append only: a row, once written, is never changed or removed.
    CREATE TRIGGER ops_no_update BEFORE UPDATE ON ops
    BEGIN
        SELECT RAISE(ABORT, 'the op log is append only');
    END;
    CREATE TRIGGER ops_no_delete BEFORE DELETE ON ops
    BEGIN
        SELECT RAISE(ABORT, 'the op log is append only');
    END;
    ALTER TABLE inspections ADD COLUMN state TEXT NOT NULL DEFAULT 'on_site'
        CHECK (state IN ('on_site', 'merging', 'with_site', 'site_responded', 'final'));
    -- Who may read a photo is asked per request, by hash.
    CREATE INDEX finding_photos_sha ON finding_photos(sha256);
    """,
    # The lead's consolidation: a verdict scale per catalog edition (FACT's
    # three verdicts or JACIE's four), and the lead's decision per standard
    # and which photos the site may see, as last-writer-wins registers
    # written by ops like findings. ``basis`` is the newest log position of
    # the standard's findings the lead had seen when deciding: a finding
    # changed after it is flagged, never applied over the decision.
    """
    ALTER TABLE catalogs ADD COLUMN scale TEXT NOT NULL DEFAULT 'fact' CHECK (scale IN ('fact', 'jacie'));
    CREATE TABLE decisions (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        verdict TEXT,
        verdict_hlc TEXT NOT NULL DEFAULT '',
        citation TEXT NOT NULL DEFAULT '',
        citation_hlc TEXT NOT NULL DEFAULT '',
        suggestion TEXT NOT NULL DEFAULT '',
        suggestion_hlc TEXT NOT NULL DEFAULT '',
        basis INTEGER NOT NULL DEFAULT 0,
        basis_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code)
    );
    CREATE INDEX decisions_seq ON decisions(inspection_id, last_seq);
    CREATE TABLE photo_releases (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        released INTEGER NOT NULL DEFAULT 0,
        released_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, sha256)
    );
    CREATE INDEX photo_releases_seq ON photo_releases(inspection_id, last_seq);
    """,
    # The site's answers and the lead's review of them, round by round, as
    # registers written by ops (the site's through its review link), the
    # evidence documents the site attaches, and the hash-chained audit trail.
    """
    CREATE TABLE responses (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        round INTEGER NOT NULL,
        factual_comment TEXT NOT NULL DEFAULT '',
        factual_comment_hlc TEXT NOT NULL DEFAULT '',
        corrective_action TEXT NOT NULL DEFAULT '',
        corrective_action_hlc TEXT NOT NULL DEFAULT '',
        target_date TEXT NOT NULL DEFAULT '',
        target_date_hlc TEXT NOT NULL DEFAULT '',
        submitted INTEGER NOT NULL DEFAULT 0,
        submitted_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, round)
    );
    CREATE INDEX responses_seq ON responses(inspection_id, last_seq);
    CREATE TABLE reviews (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        round INTEGER NOT NULL,
        outcome TEXT,
        outcome_hlc TEXT NOT NULL DEFAULT '',
        comment TEXT NOT NULL DEFAULT '',
        comment_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, round)
    );
    CREATE INDEX reviews_seq ON reviews(inspection_id, last_seq);
    -- Documents the site attaches as evidence of correction, stored by hash.
    CREATE TABLE documents (
        sha256 TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('pdf', 'jpeg', 'png')),
        bytes INTEGER NOT NULL,
        filename TEXT NOT NULL,
        stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE response_documents (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        round INTEGER NOT NULL,
        sha256 TEXT NOT NULL REFERENCES documents(sha256),
        attached INTEGER NOT NULL DEFAULT 0,
        attached_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, round, sha256)
    );
    -- Every write, in plain order, each row holding the hash of the one
    -- before it: a row changed, removed or slipped in breaks the chain.
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        inspection_id INTEGER,
        user_id INTEGER,
        link_id INTEGER,
        device TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        before TEXT,
        after TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    -- Looked up by hash only to verify a report's head: no index, so each
    -- push does not scatter random keys over one (measured: 15% of ingest).
    CREATE INDEX audit_inspection ON audit(inspection_id, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append only');
    END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append only');
    END;
    ALTER TABLE review_links ADD COLUMN last_opened_at TEXT;
    """,
    # Logging in, hardened. Failed logins keep only hashes of what they are
    # counted by (the normalised username, the client's address, the known
    # device), never the text typed, so a row is small whatever was sent;
    # rows older than the window are pruned. Sessions live on the server
    # (the signed cookie holds a random id whose hash is the key), so logout,
    # a password change or disabling a user ends them, and they expire after
    # a shift idle and after an absolute maximum. Users can be disabled.
    """
    DROP TABLE login_failures;
    CREATE TABLE login_failures (
        user_key TEXT NOT NULL,
        address_key TEXT NOT NULL,
        device_key TEXT,
        at REAL NOT NULL
    );
    CREATE INDEX login_failures_user ON login_failures(user_key, at);
    CREATE INDEX login_failures_address ON login_failures(address_key, at);
    CREATE INDEX login_failures_device ON login_failures(device_key, at);
    CREATE INDEX login_failures_at ON login_failures(at);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        revoked_at REAL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    ALTER TABLE users ADD COLUMN disabled_at TEXT;
    """,
    # An inspector's "come back to this" flag per standard: a register of its
    # own, not a column of findings, so a flag alone never makes a finding
    # the lead would see in the merge.
    """
    CREATE TABLE finding_flags (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        inspector_id INTEGER NOT NULL REFERENCES users(id),
        flagged INTEGER NOT NULL DEFAULT 0,
        flagged_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, inspector_id)
    );
    CREATE INDEX finding_flags_seq ON finding_flags(inspection_id, last_seq);
    """,
    # A year of inspections (bench/year.py): the lead's review page and the
    # History list an inspection's review links; without an index each read
    # every link ever issued.
    """
    CREATE INDEX review_links_inspection ON review_links(inspection_id, id);
    """,
    # The bundled illustrative catalog's guidance ended in a stray " |" (a
    # left-over column separator, shown on every standard page); the file is
    # fixed, and installs that imported it before are cleaned here. Only the
    # illustrative edition: a licensed checklist is the organisation's text.
    """
    UPDATE standards SET guidance = substr(guidance, 1, length(guidance) - 2)
    WHERE guidance LIKE '% |' AND catalog_id IN (SELECT id FROM catalogs WHERE illustrative = 1);
    """,
    # The accrediting body is the inspection's, not the checklist edition's
    # (inspector/domain/bodies.py): FACT or JACIE inspect the same edition,
    # each with its scale and words. Inspections made before keep FACT's
    # words and the scale their edition gave them.
    """
    ALTER TABLE inspections ADD COLUMN body TEXT NOT NULL DEFAULT 'fact'
        CHECK (body IN ('fact', 'jacie', 'internal'));
    ALTER TABLE inspections ADD COLUMN scale TEXT NOT NULL DEFAULT 'fact' CHECK (scale IN ('fact', 'jacie'));
    UPDATE inspections SET scale = (SELECT c.scale FROM catalogs c WHERE c.id = inspections.catalog_id);
    """,
    # Review links, hardened (issue 20, items 4 and 6; branch harden-links).
    # A random nonce per link, signed into its token: a link id is reused
    # after a restore (the rows issued after the backup are gone), and a
    # token must never open the new row that took its id. Links issued
    # before this migration get a nonce too, so their old tokens (which carry
    # none) stop working: the lead's page shows each live link's new address.
    # And what each link has uploaded, for its quota (count, bytes kept).
    """
    ALTER TABLE review_links ADD COLUMN nonce TEXT;
    UPDATE review_links SET nonce = lower(hex(randomblob(16)));
    ALTER TABLE review_links ADD COLUMN documents_uploaded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE review_links ADD COLUMN document_bytes INTEGER NOT NULL DEFAULT 0;
    """,
    # The op log inside the evidence: from here on each op's audit record
    # holds the op's hash, so `inspector audit verify` finds an op changed,
    # removed or added behind the server's back. The ops logged before are
    # hashed now, into records that seal them (chain.seal_op_log).
    chain.seal_op_log,
    # The cycle as FACT and JACIE run it (inspector/domain/access.py,
    # STATES): Preparing, On site, Merging findings, Factual accuracy review,
    # Committee review, Corrections, Closed. Today's "with the site" and
    # "site responded" become the factual accuracy review; "final" becomes
    # closed. SQLite cannot widen a CHECK in place: the column is made anew.
    # The accrediting body's office records the committee's decision (role
    # coordinator): per citation confirmed, amended or withdrawn, with its
    # correction's due date; for the inspection its date and outcome.
    """
    ALTER TABLE inspections ADD COLUMN stage TEXT NOT NULL DEFAULT 'on_site' CHECK (stage IN (
        'preparing', 'on_site', 'merging', 'factual_accuracy', 'committee', 'corrections', 'closed'));
    UPDATE inspections SET stage = CASE state WHEN 'with_site' THEN 'factual_accuracy'
        WHEN 'site_responded' THEN 'factual_accuracy' WHEN 'final' THEN 'closed' ELSE state END;
    ALTER TABLE inspections DROP COLUMN state;
    ALTER TABLE inspections RENAME COLUMN stage TO state;
    ALTER TABLE inspections ADD COLUMN committee_date TEXT;
    ALTER TABLE inspections ADD COLUMN outcome TEXT CHECK (outcome IN ('accredited', 'deferred', 'not_accredited'));
    ALTER TABLE inspections ADD COLUMN decided_by INTEGER REFERENCES users(id);
    ALTER TABLE users ADD COLUMN role_v2 TEXT NOT NULL DEFAULT 'inspector'
        CHECK (role_v2 IN ('admin', 'lead', 'inspector', 'coordinator'));
    UPDATE users SET role_v2 = role;
    ALTER TABLE users DROP COLUMN role;
    ALTER TABLE users RENAME COLUMN role_v2 TO role;
    CREATE TABLE committee_decisions (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'amended', 'withdrawn')),
        text TEXT NOT NULL DEFAULT '',
        due_on TEXT,
        PRIMARY KEY (inspection_id, standard_code)
    );
    -- A user's calendar feed of deadlines (/calendar.ics): its address is
    -- signed with this nonce, and a new nonce (or none) stops the old address.
    ALTER TABLE users ADD COLUMN calendar_nonce TEXT;
    """,
    # The team leader may name inspectors to review the site's corrections
    # (accepted, more information needed) beside them.
    """
    ALTER TABLE members ADD COLUMN reviews_corrections INTEGER NOT NULL DEFAULT 0;
    """,
    # Before the visit (issue 22). An inspection belongs to a program (its
    # facilities named), and has a type; each existing inspection gets the
    # program named as its site (one program for one name). A review link
    # has a purpose: the site's review of the draft, or the program's
    # self-assessment. The program's self-assessment per standard, its
    # documents (title, version) and the crosswalk of document to standard,
    # and the inspectors' requests for information with the program's
    # answers, are registers written by ops like every other write. An
    # edition map carries earlier citations across a change of checklist.
    """
    CREATE TABLE programs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        city TEXT NOT NULL DEFAULT '',
        country TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE facilities (
        id INTEGER PRIMARY KEY,
        program_id INTEGER NOT NULL REFERENCES programs(id),
        kind TEXT NOT NULL CHECK (kind IN ('clinical', 'collection', 'processing')),
        name TEXT NOT NULL
    );
    CREATE INDEX facilities_program ON facilities(program_id);
    INSERT INTO programs (name) SELECT DISTINCT site_name FROM inspections ORDER BY id;
    ALTER TABLE inspections ADD COLUMN program_id INTEGER REFERENCES programs(id);
    UPDATE inspections SET program_id = (SELECT p.id FROM programs p WHERE p.name = inspections.site_name);
    CREATE INDEX inspections_program ON inspections(program_id, starts_on);
    ALTER TABLE inspections ADD COLUMN kind TEXT NOT NULL DEFAULT 'initial'
        CHECK (kind IN ('initial', 'renewal', 'interim', 'focused', 'internal'));
    UPDATE inspections SET kind = 'internal' WHERE body = 'internal';
    ALTER TABLE inspections ADD COLUMN self_assessment_submitted_at TEXT;
    ALTER TABLE review_links ADD COLUMN purpose TEXT NOT NULL DEFAULT 'site_review'
        CHECK (purpose IN ('site_review', 'self_assessment'));
    CREATE TABLE self_assessments (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        verdict TEXT,
        verdict_hlc TEXT NOT NULL DEFAULT '',
        how TEXT NOT NULL DEFAULT '',
        how_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code)
    );
    CREATE INDEX self_assessments_seq ON self_assessments(inspection_id, last_seq);
    CREATE TABLE program_documents (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        sha256 TEXT NOT NULL REFERENCES documents(sha256),
        title TEXT NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        link_id INTEGER REFERENCES review_links(id),
        uploaded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (inspection_id, sha256)
    );
    CREATE TABLE crosswalk (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES documents(sha256),
        linked INTEGER NOT NULL DEFAULT 0,
        linked_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, sha256)
    );
    CREATE INDEX crosswalk_seq ON crosswalk(inspection_id, last_seq);
    CREATE TABLE requests (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        standard_code TEXT NOT NULL,
        raised_by INTEGER NOT NULL REFERENCES users(id),
        request_id TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        text_hlc TEXT NOT NULL DEFAULT '',
        closed INTEGER NOT NULL DEFAULT 0,
        closed_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, standard_code, raised_by, request_id)
    );
    CREATE INDEX requests_seq ON requests(inspection_id, last_seq);
    CREATE TABLE request_answers (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        request_id TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        answer_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, request_id)
    );
    CREATE INDEX request_answers_seq ON request_answers(inspection_id, last_seq);
    CREATE TABLE request_documents (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id),
        request_id TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES documents(sha256),
        attached INTEGER NOT NULL DEFAULT 0,
        attached_hlc TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (inspection_id, request_id, sha256)
    );
    CREATE TABLE edition_maps (
        from_catalog INTEGER NOT NULL REFERENCES catalogs(id),
        to_catalog INTEGER NOT NULL REFERENCES catalogs(id),
        old_code TEXT NOT NULL,
        new_code TEXT NOT NULL,
        PRIMARY KEY (from_catalog, to_catalog, old_code)
    );
    """,
    # Mail goes through an outbox (inspector/domain/mail.py): a message is
    # stored in the transaction of what caused it, then a sender delivers
    # it, retrying with backoff; a mail server that is down loses nothing.
    # ``dedupe`` names a message that must be sent once (a deadline's
    # reminder on a given day); ``claimed_until`` is a sender's lease.
    """
    CREATE TABLE mail_outbox (
        id INTEGER PRIMARY KEY,
        to_addr TEXT NOT NULL,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        html TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        inspection_id INTEGER REFERENCES inspections(id),
        dedupe TEXT UNIQUE,
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        claimed_until TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        sent_at TEXT
    );
    CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
    """,
    # A user's email address: where set-password and reset links and
    # deadline reminders go ('' for none: the CLI works without mail).
    """
    ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
    """,
    # A closed inspection put out of the way: the home list leaves it out
    # unless asked for the archived ones (an office holds years of them).
    """
    ALTER TABLE inspections ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
    """,
    # When each user last logged in (the admins' Users page), and the
    # set-password and reset links sent by mail (password_links.py): only a
    # hash of a link's random token is kept, never the token. A link is used
    # once, ends after a day, and ends when its user's password changes
    # another way; ``ended_why`` says which ended it.
    """
    ALTER TABLE users ADD COLUMN last_login_at TEXT;
    CREATE TABLE password_links (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        token_hash TEXT NOT NULL UNIQUE,
        purpose TEXT NOT NULL CHECK (purpose IN ('set_password', 'reset_password')),
        issued_by INTEGER REFERENCES users(id),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        expires_at TEXT NOT NULL,
        ended_at TEXT,
        ended_why TEXT
    );
    CREATE INDEX password_links_user ON password_links(user_id, ended_at);
    """,
]


def connect(path):
    """Open the SQLite file at ``path`` in WAL mode and bring its schema up to date."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL syncs the WAL at every commit: a push is answered "applied" only
    # once it is on disk. NORMAL would sync only at checkpoints, so a power
    # cut could roll back ops the tablets have already deleted from their
    # outboxes. (Cost measured in docs/decisions.md: sync_ingest.)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    migrate(conn)
    return sqlite_utils.Database(conn)


def migrate(conn):
    # The version is read under the write lock: server processes starting
    # together each apply a migration only if no other one has yet.
    while conn.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < len(MIGRATIONS):
                step = MIGRATIONS[version]
                if callable(step):
                    step(sqlite_utils.Database(conn))
                else:
                    for statement in statements(step):
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def statements(script):
    """Split a migration into statements as SQLite itself would: a ';' inside a
    trigger body or a string does not end a statement. (executescript would
    do this too, but it commits first, outside our transaction.)"""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip() and not all(part.strip().startswith("--") for part in pending.strip().splitlines()):
        raise ValueError(f"unterminated statement in a migration: {pending.strip()[:80]}")


def schema(db):
    """The database's schema as CREATE statements: each table in name order,
    followed by its indexes and triggers (docs/schema.sql is made from it)."""
    # Raw SQL rather than sqlite-utils' Database.schema: that lists statements
    # in creation order, which moves whenever a migration rebuilds a table;
    # grouped by table, a diff of the file shows only what a migration changed.
    rows = db.conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND substr(name, 1, 7) <> 'sqlite_' "
        "ORDER BY tbl_name, type <> 'table', type, name").fetchall()
    return "\n\n".join(_tidy(row[0]) + ";" for row in rows) + "\n"


def _tidy(sql):
    # SQLite keeps a statement as the migration wrote it, indented to sit in
    # a Python string: the lines after the first lose that common indent.
    first, _, rest = sql.strip().partition("\n")
    return first + ("\n" + textwrap.dedent(rest) if rest else "")


def migrations_schema():
    """(how many migrations ran, the schema they make), read from a new
    database in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        db = connect(Path(folder) / "schema.sqlite3")
        try:
            return db.conn.execute("PRAGMA user_version").fetchone()[0], schema(db)
        finally:
            db.conn.close()


def folder_of(db):
    """The data folder holding this database (its photos live there too)."""
    return Path(db.conn.execute("PRAGMA database_list").fetchone()[2]).parent


def database_path(data_dir):
    return Path(data_dir) / "inspector.sqlite3"


def get_db():
    """This thread's database connection (sqlite_utils.Database), opened on
    its first use and kept for the next requests the thread serves: opening
    one per request cost about 0.45 ms (schema check and pragmas)."""
    if "db" not in g:
        local = current_app.extensions["inspector_db_threads"]
        # A connection is never used across fork(): a process opens its own.
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.db = os.getpid(), connect(database_path(current_app.config["DATA_DIR"]))
        g.db = local.db
    return g.db


def close_db(_exc=None):
    # The connection stays open for the thread's next request, but never
    # with a transaction left open by a request that failed.
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.execute("ROLLBACK")


class transaction:
    """``with transaction(db):`` runs a block as one transaction: IMMEDIATE (takes
    the write lock at once) by default, DEFERRED for a consistent read that
    never blocks a writer in WAL mode."""

    def __init__(self, db, mode="IMMEDIATE"):
        assert mode in ("IMMEDIATE", "DEFERRED")
        self.conn = db.conn
        self.mode = mode

    def __enter__(self):
        self.conn.execute(f"BEGIN {self.mode}")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def joined_transaction(db):
    """The caller's transaction if one is open, else a new one: for a data
    function whose write and audit record must commit together, whether it is
    called alone (the CLI) or inside a larger transaction (a route, the demo)."""
    return contextlib.nullcontext() if db.conn.in_transaction else transaction(db)


def init_app(app):
    app.teardown_appcontext(close_db)
    # Per app and per thread: connections go when their thread or app does
    # (a thread-pool server keeps a fixed set of threads).
    app.extensions["inspector_db_threads"] = threading.local()
    # One connection held for the app's life: when the last connection to a
    # WAL database closes, SQLite checkpoints and deletes the WAL, which cost
    # 10-20 ms on every request that opened and closed the only connection.
    app.extensions["inspector_db_keeper"] = connect(database_path(app.config["DATA_DIR"]))


def release(app):
    """Close the connection ``app`` keeps for its life, before the process
    forks (`inspector serve` builds an app once to migrate, then gunicorn
    forks workers): a connection inherited by a child and closed there by the
    garbage collector can delete the WAL that live connections still use."""
    app.extensions.pop("inspector_db_keeper").conn.close()
