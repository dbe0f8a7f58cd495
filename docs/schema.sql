-- The database schema as the 22 migrations in inspector/domain/db.py make it.
-- Generated, do not edit: after adding a migration, run
--     .venv/bin/inspector schema > docs/schema.sql
-- (tests/test_schema.py fails until this file and the migrations agree).
-- Each table in name order, followed by its indexes and triggers.

CREATE TABLE assignments (
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    section_code TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (inspection_id, section_code, user_id)
);

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

CREATE INDEX audit_inspection ON audit(inspection_id, id);

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append only');
END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append only');
END;

CREATE TABLE catalogs (
    id INTEGER PRIMARY KEY,
    edition TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    illustrative INTEGER NOT NULL DEFAULT 0,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
, scale TEXT NOT NULL DEFAULT 'fact' CHECK (scale IN ('fact', 'jacie')));

CREATE TABLE committee_decisions (
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    standard_code TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'amended', 'withdrawn')),
    text TEXT NOT NULL DEFAULT '',
    due_on TEXT,
    PRIMARY KEY (inspection_id, standard_code)
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

CREATE TABLE documents (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('pdf', 'jpeg', 'png')),
    bytes INTEGER NOT NULL,
    filename TEXT NOT NULL,
    stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE edition_maps (
    from_catalog INTEGER NOT NULL REFERENCES catalogs(id),
    to_catalog INTEGER NOT NULL REFERENCES catalogs(id),
    old_code TEXT NOT NULL,
    new_code TEXT NOT NULL,
    PRIMARY KEY (from_catalog, to_catalog, old_code)
);

CREATE TABLE facilities (
    id INTEGER PRIMARY KEY,
    program_id INTEGER NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL CHECK (kind IN ('clinical', 'collection', 'processing')),
    name TEXT NOT NULL
);

CREATE INDEX facilities_program ON facilities(program_id);

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

CREATE INDEX finding_photos_sha ON finding_photos(sha256);

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

CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    site_name TEXT NOT NULL,
    catalog_id INTEGER NOT NULL REFERENCES catalogs(id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
, request_id TEXT, body TEXT NOT NULL DEFAULT 'fact'
    CHECK (body IN ('fact', 'jacie', 'internal')), scale TEXT NOT NULL DEFAULT 'fact' CHECK (scale IN ('fact', 'jacie')), state TEXT NOT NULL DEFAULT 'on_site' CHECK (state IN (
    'preparing', 'on_site', 'merging', 'factual_accuracy', 'committee', 'corrections', 'closed')), committee_date TEXT, outcome TEXT CHECK (outcome IN ('accredited', 'deferred', 'not_accredited')), decided_by INTEGER REFERENCES users(id), program_id INTEGER REFERENCES programs(id), kind TEXT NOT NULL DEFAULT 'initial'
    CHECK (kind IN ('initial', 'renewal', 'interim', 'focused', 'internal')), self_assessment_submitted_at TEXT, archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)));

CREATE INDEX inspections_program ON inspections(program_id, starts_on);

CREATE UNIQUE INDEX inspections_request ON inspections(request_id);

CREATE TABLE login_failures (
    user_key TEXT NOT NULL,
    address_key TEXT NOT NULL,
    device_key TEXT,
    at REAL NOT NULL
);

CREATE INDEX login_failures_address ON login_failures(address_key, at);

CREATE INDEX login_failures_at ON login_failures(at);

CREATE INDEX login_failures_device ON login_failures(device_key, at);

CREATE INDEX login_failures_user ON login_failures(user_key, at);

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

CREATE TABLE members (
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    team_role TEXT NOT NULL CHECK (team_role IN ('lead', 'inspector')), reviews_corrections INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (inspection_id, user_id)
);

CREATE INDEX members_user ON members(user_id);

CREATE TABLE "ops" (
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

CREATE INDEX ops_inspection ON ops(inspection_id, seq);

CREATE INDEX ops_inspection_hlc ON ops(inspection_id, hlc);

CREATE TRIGGER ops_no_delete BEFORE DELETE ON ops
BEGIN
    SELECT RAISE(ABORT, 'the op log is append only');
END;

CREATE TRIGGER ops_no_update BEFORE UPDATE ON ops
BEGIN
    SELECT RAISE(ABORT, 'the op log is append only');
END;

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

CREATE TABLE photo_uploads (
    sha256 TEXT NOT NULL REFERENCES photos(sha256),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (sha256, user_id)
);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE program_documents (
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    sha256 TEXT NOT NULL REFERENCES documents(sha256),
    title TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    link_id INTEGER REFERENCES review_links(id),
    uploaded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (inspection_id, sha256)
);

CREATE TABLE programs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

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

CREATE TABLE review_links (
    id INTEGER PRIMARY KEY,
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    issued_to TEXT NOT NULL,
    email TEXT NOT NULL,
    issued_by INTEGER NOT NULL REFERENCES users(id),
    issued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at TEXT NOT NULL,
    revoked_at TEXT
, last_opened_at TEXT, nonce TEXT, documents_uploaded INTEGER NOT NULL DEFAULT 0, document_bytes INTEGER NOT NULL DEFAULT 0, purpose TEXT NOT NULL DEFAULT 'site_review'
    CHECK (purpose IN ('site_review', 'self_assessment')));

CREATE INDEX review_links_inspection ON review_links(inspection_id, id);

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

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    revoked_at REAL
);

CREATE INDEX sessions_user ON sessions(user_id);

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

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
, disabled_at TEXT, role TEXT NOT NULL DEFAULT 'inspector'
    CHECK (role IN ('admin', 'lead', 'inspector', 'coordinator')), calendar_nonce TEXT, email TEXT NOT NULL DEFAULT '', last_login_at TEXT);
