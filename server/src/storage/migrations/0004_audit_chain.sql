-- Tutti schema, version 4: an audit trail you can prove (issue 9).
--
-- Each tenant's audit rows form a hash chain: tenant_seq counts the tenant's
-- rows from 1 with no gaps, prev_hash is the previous row's hash (64 zeros for
-- the first) and hash is SHA-256 over prev_hash and every field of the row
-- (server/src/storage/audit_chain.rs). A changed, removed or reordered row
-- breaks the chain; `tutti audit verify` walks it. audit_heads keeps each
-- chain's last seq and hash, so rows removed from the end show too (anchor
-- heads outside the database to detect a rewrite of a whole chain).
--
-- Rows written before this version are chained, in their order, when the
-- server first opens the file (SQL has no SHA-256).
ALTER TABLE audit ADD COLUMN trace_id   TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN count      INTEGER NOT NULL DEFAULT 1;  -- calls this row stands for (summaries)
ALTER TABLE audit ADD COLUMN tenant_seq INTEGER;
ALTER TABLE audit ADD COLUMN prev_hash  TEXT;
ALTER TABLE audit ADD COLUMN hash       TEXT;
CREATE UNIQUE INDEX audit_chain ON audit (tenant, tenant_seq);

CREATE TABLE audit_heads (
    tenant TEXT    NOT NULL PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   TEXT    NOT NULL
);

-- Append-only, enforced: a chained row is never updated and no row is deleted
-- (erasing a person keeps their audit rows, which hold ids and codes only).
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN OLD.hash IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

-- Stored first responses expire (idempotency.ttl_seconds); the sweep reads by time.
CREATE INDEX idempotency_by_time ON idempotency (create_time);
