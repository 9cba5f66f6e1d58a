-- Tutti on PostgreSQL, schema version 2: the SQLite schema at its version 5
-- (server/src/storage/migrations/0005_cds_tokens.sql). CDS client token ids
-- (jti) shared by every replica, so a token replayed to another replica is
-- refused as it is by the one that saw it first. A row is live until its
-- token's exp (Unix seconds) plus the configured leeway; the idempotency
-- sweeper deletes rows past the largest leeway.
CREATE TABLE cds_tokens (
    tenant     TEXT   NOT NULL,
    issuer     TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, issuer, jti)
);
CREATE INDEX cds_tokens_by_expiry ON cds_tokens (expires_at);
