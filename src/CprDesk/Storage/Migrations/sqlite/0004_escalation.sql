-- Escalation: each planned step is a row with its due time, so a restart loses nothing and a step fires once.
CREATE TABLE escalation_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    -- No foreign key: a superseded clock row (the "no Subscriber known yet" placeholder) is deleted; its steps stop.
    deadline_id INTEGER NULL,
    kind TEXT NOT NULL,
    step_index INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    fired_at TEXT NULL,
    detail TEXT NULL,
    plan_due_at TEXT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (report_id, deadline_id, kind, step_index, due_at)
);
CREATE INDEX ix_escalation_steps_due ON escalation_steps(status, due_at);
CREATE INDEX ix_escalation_steps_report ON escalation_steps(report_id);
CREATE INDEX ix_escalation_steps_deadline ON escalation_steps(deadline_id, plan_due_at);
