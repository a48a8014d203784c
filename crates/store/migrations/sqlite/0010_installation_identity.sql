-- The installation's identity: the CA certificate clients trust, the server certificate chain
-- and key every instance presents, and the bearer token of /metrics. The first `kxd init` or
-- `kxd serve` on the database records its own; an instance initialised later on the same
-- database takes these instead of making its own, and one whose files differ refuses to start,
-- so that every instance behind a load balancer presents the same certificate. One row.
CREATE TABLE installation_identity (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    ca_pem        TEXT NOT NULL,
    chain_pem     TEXT NOT NULL,
    key_pem       TEXT NOT NULL,
    metrics_token TEXT NOT NULL
);
