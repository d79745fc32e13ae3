-- Email intake: envelope and parse facts on inbound messages, the outbox, and scoped tokens (mailgate).
ALTER TABLE inbound_messages ADD COLUMN envelope_from TEXT NULL;
ALTER TABLE inbound_messages ADD COLUMN envelope_to TEXT NULL;
ALTER TABLE inbound_messages ADD COLUMN helo TEXT NULL;
ALTER TABLE inbound_messages ADD COLUMN tls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbound_messages ADD COLUMN message_id TEXT NULL;
ALTER TABLE inbound_messages ADD COLUMN defects TEXT NULL;
ALTER TABLE inbound_messages ADD COLUMN accepted_at TEXT NULL;
CREATE INDEX ix_inbound_messages_message_id ON inbound_messages(message_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NULL REFERENCES reports(id),
    kind TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    mail_from TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NULL,
    last_reply TEXT NULL,
    sent_at TEXT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX ix_outbox_report ON outbox(report_id);
CREATE INDEX ix_outbox_recipient ON outbox(recipient, kind, created_at);

-- A preliminary report sent through the outbox has no sent time until the relay accepts it.
CREATE TABLE preliminary_reports_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    recipient_kind TEXT NOT NULL,
    subscriber_id INTEGER NULL REFERENCES subscribers(id),
    to_address TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at TEXT NULL,
    outbox_id INTEGER NULL REFERENCES outbox(id),
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
INSERT INTO preliminary_reports_v2 (id, report_id, recipient_kind, subscriber_id, to_address, text, sent_at, recorded_by, recorded_at)
    SELECT id, report_id, recipient_kind, subscriber_id, to_address, text, sent_at, recorded_by, recorded_at FROM preliminary_reports;
DROP TABLE preliminary_reports;
ALTER TABLE preliminary_reports_v2 RENAME TO preliminary_reports;
CREATE INDEX ix_preliminary_reports_report ON preliminary_reports(report_id);

-- Tokens gain a scope; mailgate tokens belong to no person.
CREATE TABLE api_tokens_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NULL REFERENCES staff_users(id),
    scope TEXT NOT NULL DEFAULT 'staff',
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT NULL
);
INSERT INTO api_tokens_v2 (id, user_id, scope, name, prefix, token_hash, created_at, revoked_at)
    SELECT id, user_id, 'staff', name, prefix, token_hash, created_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v2 RENAME TO api_tokens;
