-- Contact methods (a person's email addresses and webhooks, in the order they are tried), teams with a channel,
-- calendar feed tokens, and what the outbox needs for per-method rate limits and fallback.
CREATE TABLE contact_methods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES staff_users(id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    label TEXT NULL,
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, kind, target)
);
CREATE INDEX ix_contact_methods_user ON contact_methods(user_id, position);

-- Existing accounts keep being reached where they were: their email first, then their webhook.
INSERT INTO contact_methods (user_id, kind, target, label, position, created_at, updated_at)
    SELECT id, 'email', email, NULL, 0, created_at, created_at FROM staff_users WHERE email IS NOT NULL AND email <> '';
INSERT INTO contact_methods (user_id, kind, target, label, position, created_at, updated_at)
    SELECT id, 'webhook', webhook_url, NULL, 1, created_at, created_at FROM staff_users WHERE webhook_url IS NOT NULL AND webhook_url <> '';

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    channel_webhook TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES staff_users(id),
    PRIMARY KEY (team_id, user_id)
);

-- One calendar feed token per person (stored as SHA-256); rotating it replaces the row.
CREATE TABLE calendar_feed_tokens (
    user_id INTEGER PRIMARY KEY REFERENCES staff_users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- A notification knows the person and contact method it went to, and which failed notification it falls back from.
ALTER TABLE outbox ADD COLUMN contact_method_id INTEGER NULL;
ALTER TABLE outbox ADD COLUMN recipient_user_id INTEGER NULL;
ALTER TABLE outbox ADD COLUMN fallback_of_id INTEGER NULL;
ALTER TABLE outbox ADD COLUMN fell_back_at TEXT NULL;
CREATE INDEX ix_outbox_channel_recipient_sent ON outbox(channel, recipient, sent_at);
