-- Blob intents: the blobs a writer is about to write and then name, recorded in a commit of
-- their own before the first byte is written, so that the garbage collector of every
-- instance leaves those blobs alone until the transaction naming them commits (deleting the
-- intents in the same commit), or until `expires_at` when the writer died. `area` is the blob
-- area ('messages': the 伝送 side's content ids; 'sealed': the exchange's random ids).
-- `holder` names one writer's intents: a random token, or a sealed upload's own blob id. The
-- key serves the naming transaction's delete (by holder) and lets a copy of the store
-- (`kxd store migrate`) be resumed. The table holds only writes in flight, so the collector's
-- and the retention job's scans of it are short. Same conventions as 0001.
CREATE TABLE blob_intents (
    blob       TEXT NOT NULL,
    area       TEXT NOT NULL CHECK (area IN ('messages', 'sealed')),
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (holder, blob)
);
