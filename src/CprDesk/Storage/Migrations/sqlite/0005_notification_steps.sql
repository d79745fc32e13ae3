-- A notification knows the escalation step that sent it, so a report can list its notifications.
ALTER TABLE outbox ADD COLUMN escalation_step_id INTEGER NULL REFERENCES escalation_steps(id);
-- The daily gap reminder looks for today's warning by type and time.
CREATE INDEX ix_audit_events_type_at ON audit_events(type, at);
