-- Tutti schema, version 5: CDS client token ids (jti) in the database, so a
-- token replayed to another replica on the same storage is refused as it is
-- by the replica that saw it first (CDS Hooks 2.0.1, "Trusting CDS Clients").
-- A row is live until its token's exp (Unix seconds) plus the configured
-- leeway; a claim of an expired row takes it over; the idempotency sweeper
-- deletes rows past the largest leeway. No health data: issuer, token id, time.
CREATE TABLE cds_tokens (
    tenant     TEXT    NOT NULL,
    issuer     TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, issuer, jti)
) WITHOUT ROWID;
CREATE INDEX cds_tokens_by_expiry ON cds_tokens (expires_at);
