-- Regist attempts per submission, so that one the Regist job cannot finish (it crashes the
-- process, or runs out of its time budget) is settled after a few attempts instead of being
-- tried forever. Same conventions as 0001: SQL PostgreSQL also accepts.

-- Counted when a job claims the submission, before any work: an attempt the process died in
-- counts too.
ALTER TABLE submissions ADD COLUMN regist_attempts BIGINT NOT NULL DEFAULT 0;
