-- Incidents (CCADB IRG): an incident links reports, has its own clocks as rows (escalated like report clocks),
-- findings (root causes, lessons), action items, questions and what was posted; and the Bugzilla watch.
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    aware_at TEXT NOT NULL,
    source TEXT NULL,
    whiteboard TEXT NOT NULL DEFAULT '',
    next_update_on TEXT NULL,
    bug_id INTEGER NULL,
    reporter_consent INTEGER NOT NULL DEFAULT 0,
    fields TEXT NOT NULL DEFAULT '{}',
    template_version TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE incident_reports (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    report_id INTEGER NOT NULL REFERENCES reports(id),
    missed_clock TEXT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (incident_id, report_id)
);
CREATE INDEX ix_incident_reports_report ON incident_reports(report_id);

-- Root causes (contributing factors) and Lessons Learned items; action items name the findings they address.
CREATE TABLE incident_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX ix_incident_findings_incident ON incident_findings(incident_id);

CREATE TABLE incident_action_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    finding_ids TEXT NOT NULL DEFAULT '',
    evaluation_criteria TEXT NULL,
    owner TEXT NULL,
    due_on TEXT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    settled_at TEXT NULL
);
CREATE INDEX ix_incident_action_items_incident ON incident_action_items(incident_id);

CREATE TABLE incident_questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    asked_at TEXT NOT NULL,
    asked_by TEXT NULL,
    text TEXT NOT NULL,
    answered_at TEXT NULL
);
CREATE INDEX ix_incident_questions_incident ON incident_questions(incident_id);

-- What was posted to the bug: preliminary, full, update, closure (each one an update for the update clock).
CREATE TABLE incident_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    kind TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    template_version TEXT NULL,
    text_sha256 TEXT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX ix_incident_posts_incident ON incident_posts(incident_id);

CREATE TABLE incident_clocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    name TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    due_at TEXT NOT NULL,
    met_at TEXT NULL,
    waived_at TEXT NULL,
    basis TEXT NOT NULL,
    UNIQUE (incident_id, name, ref)
);
CREATE INDEX ix_incident_clocks_open ON incident_clocks(met_at, waived_at, due_at);

-- Escalation steps for incident clocks (the engine's deadline steps, planned against incident_clocks).
CREATE TABLE incident_escalation_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clock_id INTEGER NOT NULL,
    step_index INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    fired_at TEXT NULL,
    plan_due_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_incident_escalation_steps_due ON incident_escalation_steps(status, due_at);
CREATE INDEX ix_incident_escalation_steps_clock ON incident_escalation_steps(clock_id, plan_due_at);

CREATE TABLE bugzilla_bugs (
    id INTEGER PRIMARY KEY,
    summary TEXT NOT NULL,
    ca_owner TEXT NULL,
    status TEXT NULL,
    resolution TEXT NULL,
    whiteboard TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    next_update_on TEXT NULL,
    close_on TEXT NULL,
    creator TEXT NULL,
    creation_time TEXT NOT NULL,
    last_change_time TEXT NOT NULL,
    failure_classes TEXT NOT NULL DEFAULT '',
    class_reasons TEXT NOT NULL DEFAULT '[]',
    description TEXT NULL,
    own INTEGER NOT NULL DEFAULT 0,
    incident_id INTEGER NULL REFERENCES incidents(id),
    review TEXT NULL,
    review_note TEXT NULL,
    reviewed_by TEXT NULL,
    reviewed_at TEXT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX ix_bugzilla_bugs_review ON bugzilla_bugs(review, imported_at);
CREATE INDEX ix_bugzilla_bugs_created ON bugzilla_bugs(creation_time);

CREATE TABLE bugzilla_comments (
    id INTEGER PRIMARY KEY,
    bug_id INTEGER NOT NULL REFERENCES bugzilla_bugs(id),
    count INTEGER NOT NULL,
    creator TEXT NULL,
    creation_time TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX ix_bugzilla_comments_bug ON bugzilla_comments(bug_id);
