-- The KX exchange (spec kx-exchange.md): societies and their offices, their users, the
-- certificate queue, sessions, the sealed files between them and the notification outbox.
-- Same conventions as 0001: SQL PostgreSQL also accepts except where marked "pg:", times in
-- milliseconds since the Unix epoch (UTC), sizes in bytes.

-- Parties: a health insurance society (健康保険組合) or one of its offices (事業所).
CREATE TABLE ex_parties (
    id          INTEGER PRIMARY KEY,        -- pg: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    kind        TEXT NOT NULL CHECK (kind IN ('society', 'office')),
    number      TEXT NOT NULL,              -- society: 保険者番号 (8 digits); office: its number
    name        TEXT NOT NULL,
    society_id  BIGINT REFERENCES ex_parties (id), -- office: its society; society: NULL
    quota_bytes BIGINT NOT NULL,            -- sealed bytes it may hold as recipient
    ca_der      BLOB,                       -- society: its CA certificate, once set up; pg: BYTEA
    created_at  BIGINT NOT NULL,
    CHECK ((kind = 'society') = (society_id IS NULL))
);
CREATE UNIQUE INDEX ex_societies_by_number ON ex_parties (number) WHERE kind = 'society';
CREATE UNIQUE INDEX ex_offices_by_number ON ex_parties (society_id, number) WHERE kind = 'office';

-- 送信先: the nicknames offices choose from when sending to their society.
CREATE TABLE ex_destinations (
    id          INTEGER PRIMARY KEY,        -- the order they were added; pg: IDENTITY
    society_id  BIGINT NOT NULL REFERENCES ex_parties (id),
    nickname    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (society_id, nickname)
);

-- Users of a party. The password columns are those of `accounts` and are read and written by
-- the same code (credentials.rs): argon2id hashes, failed-login counter, lock-out.
CREATE TABLE ex_users (
    id                   TEXT PRIMARY KEY,  -- the login ID
    party_id             BIGINT NOT NULL REFERENCES ex_parties (id),
    user_name            TEXT NOT NULL DEFAULT '',  -- 利用者名
    user_code            TEXT NOT NULL DEFAULT '',  -- 利用者コード
    mail                 TEXT,              -- notifications go here; NULL = none
    password_hash        TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    locked               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL,
    password_changed_at  BIGINT
);
CREATE INDEX ex_users_by_party ON ex_users (party_id);

-- One-time codes: a society's setup code, a user's enrolment code. Only the SHA-256 of the
-- code is kept (codes are random, ~100 bits, so a plain hash cannot be reversed).
CREATE TABLE ex_codes (
    code_hash   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('setup', 'enrolment')),
    user_id     TEXT NOT NULL REFERENCES ex_users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX ex_codes_by_user ON ex_codes (user_id);

-- Certificates of parties, recorded when issued through the queue (society: at setup or when
-- it publishes a renewal). A client certificate maps to its party by this fingerprint.
CREATE TABLE ex_certificates (
    id          INTEGER PRIMARY KEY,        -- pg: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    party_id    BIGINT NOT NULL REFERENCES ex_parties (id),
    user_id     TEXT REFERENCES ex_users (id), -- office: the user who enrolled it
    der         BLOB NOT NULL,              -- pg: BYTEA
    fingerprint TEXT NOT NULL UNIQUE,       -- SHA-256 of the DER, lower-case hex
    not_after   BIGINT NOT NULL,
    current     BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ex_certificates_by_party ON ex_certificates (party_id, current);

-- The certificate queue: offices ask (enrol, renew), their society issues or refuses.
-- The id is the random capability the requester polls with.
CREATE TABLE ex_certificate_requests (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('enrol', 'renew')),
    party_id       BIGINT NOT NULL REFERENCES ex_parties (id),
    user_id        TEXT NOT NULL REFERENCES ex_users (id),
    csr_der        BLOB NOT NULL,           -- pg: BYTEA
    state          TEXT NOT NULL CHECK (state IN ('pending', 'issued', 'refused')),
    refusal        TEXT,
    certificate_id BIGINT REFERENCES ex_certificates (id),
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT
);
CREATE INDEX ex_requests_pending ON ex_certificate_requests (state, party_id);

-- API sessions, bound to the login's source address and client certificate.
CREATE TABLE ex_sessions (
    token_hash   TEXT PRIMARY KEY,          -- SHA-256 of the bearer token
    user_id      TEXT NOT NULL REFERENCES ex_users (id),
    party_id     BIGINT NOT NULL REFERENCES ex_parties (id),
    source_ip    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL            -- absolute limit; the idle limit uses last_used_at
);

-- Sealed files. The row outlives its blob: `blob` is NULL once the file was deleted by its
-- recipient, cancelled, or expired; the row itself is purged 2 years after sent_at.
CREATE TABLE ex_files (
    seq                  INTEGER PRIMARY KEY, -- arrival order (ties of sent_at); pg: IDENTITY
    id                   TEXT NOT NULL UNIQUE, -- random, so ids tell nothing about other files
    sender_party         BIGINT NOT NULL REFERENCES ex_parties (id),
    sender_user          TEXT NOT NULL,     -- no FK: the history outlives users
    recipient_party      BIGINT NOT NULL REFERENCES ex_parties (id),
    destination          TEXT,              -- office to society: the nickname chosen
    function             TEXT NOT NULL CHECK (function IN ('e-application', 'attachments')),
    name                 TEXT NOT NULL,     -- the sealed name
    size                 BIGINT NOT NULL,
    sha256               TEXT NOT NULL,     -- of the sealed bytes
    blob                 TEXT,              -- exchange blob id; NULL once freed
    sent_at              BIGINT NOT NULL,
    received_at          BIGINT,            -- last download
    recipient_deleted_at BIGINT,
    cancelled_at         BIGINT,
    expired_at           BIGINT
);
CREATE INDEX ex_files_to ON ex_files (recipient_party, sent_at);
CREATE INDEX ex_files_from ON ex_files (sender_party, sent_at);
CREATE INDEX ex_files_sent ON ex_files (sent_at);

-- Notification mails, queued in the transaction of the event they report.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,    -- pg: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,                 -- a sender holds it until then
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);

-- Small settings the operator sets at run time (the published app version).
CREATE TABLE ex_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
