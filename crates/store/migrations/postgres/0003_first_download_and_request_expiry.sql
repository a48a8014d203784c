-- Two corrections to 0002. Same conventions: SQL PostgreSQL also accepts except where marked
-- "pg:", times in milliseconds since the Unix epoch (UTC).

-- A file's sender sees when the recipient first downloaded it (済, spec §4.2), the recipient
-- when it last did (§3): keep both. Files downloaded before this migration only know their
-- last download, the nearest there is to their first.
ALTER TABLE ex_files RENAME COLUMN received_at TO last_received_at;
ALTER TABLE ex_files ADD COLUMN first_received_at BIGINT;
UPDATE ex_files SET first_received_at = last_received_at;

-- A certificate request the society has not decided by `expires_at` expires (the retention
-- job marks it). A CHECK constraint cannot be changed in place in SQLite, so the table is
-- rebuilt; nothing references it. Requests already waiting get the default 14 days.
CREATE TABLE ex_certificate_requests_v3 (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('enrol', 'renew')),
    party_id       BIGINT NOT NULL REFERENCES ex_parties (id),
    user_id        TEXT NOT NULL REFERENCES ex_users (id),
    csr_der        BYTEA NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'issued', 'refused', 'expired')),
    refusal        TEXT,
    certificate_id BIGINT REFERENCES ex_certificates (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,         -- undecided by then: expired
    decided_at     BIGINT                   -- issued, refused or expired
);
INSERT INTO ex_certificate_requests_v3 (id, kind, party_id, user_id, csr_der, state, refusal,
    certificate_id, created_at, expires_at, decided_at)
SELECT id, kind, party_id, user_id, csr_der, state, refusal, certificate_id, created_at,
    created_at + 1209600000, decided_at
FROM ex_certificate_requests;
DROP TABLE ex_certificate_requests;
ALTER TABLE ex_certificate_requests_v3 RENAME TO ex_certificate_requests;
CREATE INDEX ex_requests_pending ON ex_certificate_requests (state, party_id);
