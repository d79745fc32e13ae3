-- A notification knows the escalation step that sent it, so a report can list its notifications.
ALTER TABLE outbox ADD COLUMN escalation_step_id INTEGER NULL REFERENCES escalation_steps(id);
