-- Lock-out becomes temporary. Same conventions as 0001: SQL PostgreSQL also accepts, times in
-- milliseconds since the Unix epoch (UTC).
--
-- `failed_logins` now counts the failures since `failures_since` (the first failure of the
-- current window); reaching the limit sets `locked_until` and starts the count afresh.
-- `locked` stays, for the operator's permanent lock only.
ALTER TABLE accounts ADD COLUMN failures_since BIGINT;
ALTER TABLE accounts ADD COLUMN locked_until BIGINT;
ALTER TABLE ex_users ADD COLUMN failures_since BIGINT;
ALTER TABLE ex_users ADD COLUMN locked_until BIGINT;

-- The automatic lock-out used to set `locked` and keep the count, the operator's lock to
-- clear it: a row locked with failures counted was locked by guessing, which now lapses.
UPDATE accounts SET locked = FALSE, failed_logins = 0 WHERE locked AND failed_logins > 0;
UPDATE ex_users SET locked = FALSE, failed_logins = 0 WHERE locked AND failed_logins > 0;
