-- The console's operators and their sessions. Same conventions as 0001: SQL PostgreSQL also
-- accepts, times in milliseconds since the Unix epoch (UTC).
--
-- An operator is a federation operator (role 'federation', every organisation) or a society
-- administrator (role 'society', one society: `society_id`). The password columns are those
-- of `accounts` and `ex_users`, so one lock-out implementation serves all three tables.
-- `totp_secret` is the RFC 6238 shared secret (hex); NULL until enrolment has been confirmed
-- with a first code. `totp_last_step` is the newest 30-second step a code was accepted for:
-- a code is good once.
CREATE TABLE operators (
    id                   TEXT PRIMARY KEY,
    role                 TEXT NOT NULL CHECK (role IN ('federation', 'society')),
    society_id           BIGINT REFERENCES ex_parties (id),
    password_hash        TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    failures_since       BIGINT,
    locked               BOOLEAN NOT NULL DEFAULT FALSE,
    locked_until         BIGINT,
    password_changed_at  BIGINT,
    totp_secret          TEXT,
    totp_last_step       BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    CHECK ((role = 'society') = (society_id IS NOT NULL))
);

-- Console sessions: only the SHA-256 of the cookie's token is kept. `stage` is how far the
-- login has come: 'password' (temporary password to change), 'enrol' (second factor to set
-- up), 'code' (second factor to enter), 'in' (logged in). `pending_secret` holds the secret
-- shown at enrolment until a first code confirms it.
CREATE TABLE console_sessions (
    token_hash     TEXT PRIMARY KEY,
    operator_id    TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    stage          TEXT NOT NULL CHECK (stage IN ('password', 'enrol', 'code', 'in')),
    csrf           TEXT NOT NULL,
    pending_secret TEXT,
    source_ip      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_operator ON console_sessions (operator_id);
