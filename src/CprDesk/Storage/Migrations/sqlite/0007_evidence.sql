-- Evidence: the CA's certificate inventory, what each report carries (findings, proofs, CRL checks), the matches
-- between them, and one job row per message so extraction resumes after a restart.
CREATE TABLE inventory_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    serial TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    spki_sha256 TEXT NULL,
    not_before TEXT NULL,
    not_after TEXT NULL,
    subject_cn TEXT NULL,
    sans TEXT NULL,
    subscriber_email TEXT NULL,
    issuer TEXT NULL,
    is_ca INTEGER NOT NULL DEFAULT 0,
    der BLOB NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX ix_inventory_serial ON inventory_certificates(serial);
CREATE INDEX ix_inventory_spki ON inventory_certificates(spki_sha256);

CREATE TABLE evidence_jobs (
    message_id INTEGER PRIMARY KEY REFERENCES inbound_messages(id),
    report_id INTEGER NOT NULL REFERENCES reports(id),
    status TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_evidence_jobs_report ON evidence_jobs(report_id);

CREATE TABLE evidence_findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    message_id INTEGER NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    location TEXT NOT NULL,
    spki_sha256 TEXT NULL,
    serial TEXT NULL,
    sha256 TEXT NULL,
    issuer TEXT NULL,
    subject TEXT NULL,
    not_after TEXT NULL,
    verified INTEGER NULL,
    reason TEXT NULL,
    -- Public material only (certificates, CSRs, CRLs, public keys).
    der BLOB NULL,
    -- A private key: AES-256-GCM of its PKCS#8 DER (nonce 12 | tag 16 | ciphertext), key CprDesk:Evidence:KeyEncryptionKey.
    key_ciphertext BLOB NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_evidence_findings_report ON evidence_findings(report_id, kind);
CREATE INDEX ix_evidence_findings_message ON evidence_findings(message_id);

CREATE TABLE evidence_matches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    inventory_id INTEGER NOT NULL REFERENCES inventory_certificates(id),
    matched_by TEXT NOT NULL,
    finding_value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (report_id, inventory_id, matched_by)
);

CREATE TABLE evidence_crls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    source TEXT NOT NULL,
    is_url INTEGER NOT NULL DEFAULT 0,
    issuer TEXT NULL,
    expected_issuer TEXT NULL,
    signature_valid INTEGER NOT NULL,
    error TEXT NULL,
    this_update TEXT NULL,
    next_update TEXT NULL,
    entries INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NULL,
    checked_at TEXT NOT NULL
);
CREATE INDEX ix_evidence_crls_report ON evidence_crls(report_id);

CREATE TABLE report_evidence (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id),
    challenge TEXT NOT NULL,
    suggested_category TEXT NULL,
    suggestion_reasons TEXT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE crtsh_cache (
    query TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    body TEXT NULL,
    fetched_at TEXT NOT NULL
);
