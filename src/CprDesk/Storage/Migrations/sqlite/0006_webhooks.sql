-- Webhook notifications go through the outbox too; a person may have a webhook beside their email.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE staff_users ADD COLUMN webhook_url TEXT NULL;
