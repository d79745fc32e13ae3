-- Hosted mailboxes polled over IMAP: each mailbox's poll state, its folders, and which server UIDs are stored as
-- which inbound message. A UID row exists only once its message is committed. Alarms for UIDs found on the server
-- but not stored are kept so each is raised once.
CREATE TABLE imap_mailboxes (
    name TEXT PRIMARY KEY,
    last_attempt_at TEXT NULL,
    last_success_at TEXT NULL,
    last_error TEXT NULL,
    failing_since TEXT NULL,
    failure_alarm_at TEXT NULL,
    last_message_at TEXT NULL
);

CREATE TABLE imap_folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox TEXT NOT NULL REFERENCES imap_mailboxes(name),
    name TEXT NOT NULL,
    special_use TEXT NULL,
    is_junk INTEGER NOT NULL DEFAULT 0,
    uid_validity INTEGER NULL,
    server_count INTEGER NOT NULL DEFAULT 0,
    missing_count INTEGER NOT NULL DEFAULT 0,
    last_polled_at TEXT NULL,
    last_error TEXT NULL,
    gone_at TEXT NULL
);
CREATE UNIQUE INDEX ix_imap_folders_mailbox_name ON imap_folders(mailbox, name);

CREATE TABLE imap_stored_uids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL REFERENCES imap_folders(id),
    uid_validity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    message_id INTEGER NOT NULL REFERENCES inbound_messages(id),
    internal_date TEXT NULL,
    stored_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ix_imap_stored_uids_folder_uid ON imap_stored_uids(folder_id, uid_validity, uid);
CREATE INDEX ix_imap_stored_uids_message ON imap_stored_uids(message_id);

CREATE TABLE imap_missing_uids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL REFERENCES imap_folders(id),
    uid_validity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    reason TEXT NULL,
    first_seen_at TEXT NOT NULL,
    alarmed_at TEXT NULL,
    resolved_at TEXT NULL
);
CREATE UNIQUE INDEX ix_imap_missing_uids_folder_uid ON imap_missing_uids(folder_id, uid_validity, uid);
CREATE INDEX ix_inbound_messages_raw_sha256 ON inbound_messages(raw_sha256);
