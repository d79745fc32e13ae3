-- Published channels: the registry, canary runs, drift findings; canary reports are marked so they stay out of
-- the real queue and metrics.
CREATE TABLE channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    owner TEXT NULL,
    purpose TEXT NULL,
    published_in TEXT NOT NULL DEFAULT '',
    route TEXT NOT NULL,
    max_silence_hours INTEGER NULL,
    group_alias INTEGER NOT NULL DEFAULT 0,
    alias_members TEXT NOT NULL DEFAULT '',
    canary_enabled INTEGER NOT NULL DEFAULT 1,
    canary_every_minutes INTEGER NOT NULL DEFAULT 360,
    late_after_minutes INTEGER NOT NULL DEFAULT 30,
    next_canary_at TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ix_channels_address ON channels (address);

CREATE TABLE canary_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NULL REFERENCES channels (id) ON DELETE SET NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    send_result TEXT NULL,
    late_at TEXT NOT NULL,
    lost_at TEXT NOT NULL,
    received_at TEXT NULL,
    report_id INTEGER NULL REFERENCES reports (id),
    ticket TEXT NULL,
    clock_started INTEGER NOT NULL DEFAULT 0,
    ack_at TEXT NULL,
    outcome TEXT NOT NULL,
    decided_at TEXT NULL
);
CREATE INDEX ix_canary_runs_outcome ON canary_runs (outcome);
CREATE INDEX ix_canary_runs_channel ON canary_runs (channel_id, id);

CREATE TABLE channel_drift_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    detail TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    resolved_at TEXT NULL
);
CREATE INDEX ix_channel_drift_open ON channel_drift_findings (finding_key, resolved_at);

ALTER TABLE reports ADD COLUMN is_canary INTEGER NOT NULL DEFAULT 0;
