-- Retention (kxd.toml `[retention]`) frees the raw message of a settled submission, and of an
-- upstream notice, some time after it was settled or received. The row stays for the record
-- (its number stays used), and its `blob` still names the SHA-256 of what arrived; from
-- `raw_freed_at` on, that blob is no longer held for it. Same conventions as 0001.
ALTER TABLE submissions ADD COLUMN raw_freed_at BIGINT;
ALTER TABLE upstream_receipts ADD COLUMN raw_freed_at BIGINT;
CREATE INDEX mailbox_messages_by_age ON mailbox_messages (received_at);
