-- What every instance counts alike for the login penalty and the rate limits (kx-listen's
-- shared tally), so that a source gains nothing by being spread over several kxd.
-- `login_failures`: a source's (an IPv4 address, an IPv6 /64, as text) failed logins still
-- remembered at `updated_at`; the row may go from `forget_at`, when none is remembered any
-- longer. `rate_events`: the events of one key (an address, an account) of one limit (`scope`)
-- in one minute (minutes since the Unix epoch); only this minute and the one before count.
-- Same conventions as 0001 (times in milliseconds since the Unix epoch).
CREATE TABLE login_failures (
    source     TEXT PRIMARY KEY,
    failures   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    forget_at  BIGINT NOT NULL
);
CREATE INDEX login_failures_forget ON login_failures (forget_at);
CREATE TABLE rate_events (
    scope   TEXT NOT NULL,
    subject TEXT NOT NULL,
    minute  BIGINT NOT NULL,
    events  BIGINT NOT NULL,
    PRIMARY KEY (scope, subject, minute)
);
CREATE INDEX rate_events_minute ON rate_events (minute);
