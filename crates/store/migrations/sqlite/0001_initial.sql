-- kx-store schema, SQLite flavour.
--
-- Written in SQL that PostgreSQL also accepts, except where marked "pg:" (the PostgreSQL
-- migrations will differ only there). Times are milliseconds since the Unix epoch (UTC),
-- blobs are named by the SHA-256 of their content (lower-case hex) and live in the blob store.

-- 国保連合会 clients: prefectures, insurers, welfare offices and offices.
CREATE TABLE organisations (
    code        TEXT PRIMARY KEY,           -- 識別番号 (10 characters)
    kind        TEXT NOT NULL CHECK (kind IN ('prefecture', 'insurer', 'welfare', 'office')),
    number      TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (kind, number)
);

-- Source networks an organisation may connect from; none listed = any network.
CREATE TABLE organisation_networks (
    org_code    TEXT NOT NULL REFERENCES organisations (code),
    network     TEXT NOT NULL,              -- CIDR, e.g. 192.0.2.0/24
    PRIMARY KEY (org_code, network)
);

CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,  -- ID, e.g. J13123456780
    org_code             TEXT NOT NULL REFERENCES organisations (code),
    password_hash        TEXT,              -- argon2id PHC string; NULL = no password yet
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    locked               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL,
    password_changed_at  BIGINT
);
CREATE INDEX accounts_by_org ON accounts (org_code);

-- One mailbox per account. next_uid only grows, so a UID is never reused.
CREATE TABLE mailboxes (
    account_id      TEXT PRIMARY KEY REFERENCES accounts (id),
    next_uid        BIGINT NOT NULL DEFAULT 1,
    lock_holder     TEXT,                   -- POP3 exclusive lock, across kxd processes
    lock_expires_at BIGINT
);

CREATE TABLE mailbox_messages (
    account_id  TEXT NOT NULL REFERENCES mailboxes (account_id),
    uid         BIGINT NOT NULL,
    blob        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, uid)
);

-- DataSend / DataDelete messages as they arrived. State machine:
-- accepted -> registered | cancelled; refused (Accept IFErr) is final from the start.
CREATE TABLE submissions (
    id               INTEGER PRIMARY KEY,   -- pg: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    org_code         TEXT NOT NULL REFERENCES organisations (code),
    kind             TEXT NOT NULL CHECK (kind IN ('DataSend', 'DataDelete')),
    number           TEXT,                  -- as written; may be malformed or absent when refused
    cancel_target    TEXT,                  -- DataDelete: the number to cancel
    state            TEXT NOT NULL CHECK (state IN ('accepted', 'registered', 'cancelled', 'refused')),
    error_code       TEXT,                  -- refused: the X-Ex1-IFArea code
    blob             TEXT NOT NULL,
    size             BIGINT NOT NULL,
    accepted_at      BIGINT NOT NULL,
    settled_at       BIGINT,                -- registered, cancelled
    handed_off       BOOLEAN,               -- registered: whether it went to the review system
    claim_token      TEXT,                  -- the Regist job holding it, until claim_expires_at
    claim_expires_at BIGINT
);
CREATE INDEX submissions_by_org ON submissions (org_code, id);
CREATE INDEX submissions_due ON submissions (state, accepted_at);
CREATE INDEX submissions_by_number ON submissions (org_code, number);

-- Transmission numbers an organisation has used; the primary key refuses a second use.
CREATE TABLE used_numbers (
    org_code      TEXT NOT NULL REFERENCES organisations (code),
    number        TEXT NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    used_at       BIGINT NOT NULL,
    PRIMARY KEY (org_code, number)
);

-- 独自情報: the upstream kinds the federation accepts.
CREATE TABLE upstream_definitions (
    name        TEXT PRIMARY KEY,
    to_address  TEXT NOT NULL,
    max_files   BIGINT,
    max_bytes   BIGINT,
    extensions  TEXT                        -- comma-separated, lower-case; NULL = any allowed
);

-- 上り連絡 received; (kind, unique_number) refuses a second use of a 一意番号.
CREATE TABLE upstream_receipts (
    id            INTEGER PRIMARY KEY,      -- pg: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    kind          TEXT NOT NULL REFERENCES upstream_definitions (name),
    unique_number TEXT NOT NULL,
    org_code      TEXT NOT NULL REFERENCES organisations (code),
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    blob          TEXT NOT NULL,
    size          BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    UNIQUE (kind, unique_number)
);

-- Append-only: the store never updates or deletes a row here.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,         -- pg: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL,
    source_ip  TEXT,
    outcome    TEXT NOT NULL
);
CREATE INDEX audit_by_actor ON audit_log (actor, id);
