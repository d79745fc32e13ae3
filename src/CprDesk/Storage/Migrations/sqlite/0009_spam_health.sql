-- Spam scoring as a flag (never a filter), the suspected-spam review queue, and intake silence alarms.

-- One row per scored (or failed-to-score) inbound message; re-scoring on a retry replaces it.
CREATE TABLE message_spam_scores (
    message_id INTEGER PRIMARY KEY REFERENCES inbound_messages(id),
    scorer TEXT NOT NULL,
    state TEXT NOT NULL,            -- scored, unscored
    score REAL NULL,
    threshold REAL NULL,
    rules TEXT NULL,                -- space-separated rule names
    error TEXT NULL,
    elapsed_ms INTEGER NOT NULL,
    scored_at TEXT NOT NULL
);

-- A report whose first message scored at or above the threshold: it waits for a person's verdict.
CREATE TABLE spam_reviews (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id),
    message_id INTEGER NOT NULL REFERENCES inbound_messages(id),
    score REAL NOT NULL,
    threshold REAL NOT NULL,
    flagged_at TEXT NOT NULL,
    acknowledgement_held INTEGER NOT NULL,
    verdict TEXT NULL,              -- spam, not-spam
    decided_by TEXT NULL,
    decided_at TEXT NULL,
    note TEXT NULL
);
CREATE INDEX ix_spam_reviews_verdict ON spam_reviews(verdict);

-- The silence currently alarmed per channel: one alarm per silence, cleared when mail arrives again.
CREATE TABLE intake_silence_alarms (
    channel TEXT PRIMARY KEY,
    last_message_at TEXT NULL,
    expected_seconds INTEGER NOT NULL,
    raised_at TEXT NOT NULL
);

CREATE INDEX ix_inbound_messages_channel_accepted ON inbound_messages(channel, accepted_at);
