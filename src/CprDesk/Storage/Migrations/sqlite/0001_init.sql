-- CprDesk schema v1 (SQLite). Instants are UTC, stored as ISO-8601 text so they sort in SQL.
CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NULL,
    email TEXT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES staff_users(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT NULL
);

CREATE TABLE ticket_counters (
    year INTEGER PRIMARY KEY,
    last_value INTEGER NOT NULL
);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    state TEXT NOT NULL,
    resolution TEXT NULL,
    category TEXT NULL,
    revocation_reason TEXT NULL,
    crl_reason TEXT NULL,
    problem_type TEXT NULL,
    reporter_email TEXT NOT NULL,
    reporter_name TEXT NULL,
    description TEXT NULL,
    assignee_id INTEGER NULL REFERENCES staff_users(id),
    status_token_hash TEXT NOT NULL UNIQUE,
    revocation_published_at TEXT NULL,
    revocation_waived_at TEXT NULL,
    not_a_cpr_at TEXT NULL,
    resolved_at TEXT NULL,
    closed_at TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_reports_state ON reports(state);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE inbound_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NULL REFERENCES reports(id),
    channel TEXT NOT NULL,
    received_at TEXT NOT NULL,
    raw_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    raw_size INTEGER NOT NULL,
    content_type TEXT NULL,
    subject TEXT NULL,
    from_address TEXT NULL,
    peer_address TEXT NULL,
    flags TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    status_detail TEXT NULL
);
CREATE INDEX ix_inbound_messages_report ON inbound_messages(report_id);
CREATE INDEX ix_inbound_messages_status ON inbound_messages(status);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    message_id INTEGER NOT NULL REFERENCES inbound_messages(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256)
);
CREATE INDEX ix_attachments_report ON attachments(report_id);

CREATE TABLE certificate_identifiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    message_id INTEGER NULL REFERENCES inbound_messages(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX ix_certificate_identifiers_report ON certificate_identifiers(report_id);

CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    email TEXT NOT NULL,
    name TEXT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    UNIQUE (report_id, email)
);

CREATE TABLE deadlines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    name TEXT NOT NULL,
    recipient TEXT NULL,
    subscriber_id INTEGER NULL REFERENCES subscribers(id),
    due_at TEXT NOT NULL,
    met_at TEXT NULL,
    waived_at TEXT NULL,
    section TEXT NOT NULL
);
CREATE INDEX ix_deadlines_report ON deadlines(report_id);
CREATE INDEX ix_deadlines_open_due ON deadlines(met_at, waived_at, due_at);

CREATE TABLE preliminary_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    recipient_kind TEXT NOT NULL,
    subscriber_id INTEGER NULL REFERENCES subscribers(id),
    to_address TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX ix_preliminary_reports_report ON preliminary_reports(report_id);

-- Append-only, hash-chained. UNIQUE(prev_hash) makes a fork (two writers chaining from one head) fail.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    ticket TEXT NULL,
    type TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX ix_audit_events_ticket ON audit_events(ticket);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs
BEGIN SELECT RAISE(ABORT, 'raw content is immutable'); END;
