-- Tutti on PostgreSQL, schema version 1: the SQLite schema at its version 4
-- (server/src/storage/migrations/0001-0004), in PostgreSQL types, plus:
--  - seq (bigserial) on the event tables: replay reads a person's events in
--    insertion order, which SQLite takes from rowid. Events of one person are
--    only inserted by the transaction holding that person's row lock (the
--    state update), so seq order is commit order per person;
--  - people_by_update, so online pooling reads the newest states without
--    sorting the table.
-- Times are milliseconds since the Unix epoch (UTC). Every table has a tenant
-- column and every query is scoped by it. Event payloads are encoded tutti.v1
-- messages; state is the binary form of server/src/storage/state_codec.rs.
-- Applied by refinery (table refinery_schema_history) under an advisory lock,
-- so replicas starting together migrate once. Append new versions; never edit
-- a released one.

CREATE TABLE people (
    tenant                 TEXT    NOT NULL,
    person_id              TEXT    NOT NULL,
    conditions             TEXT    NOT NULL,              -- JSON array of engine conditions
    create_time            BIGINT  NOT NULL,
    update_time            BIGINT  NOT NULL,
    state                  BYTEA   NOT NULL,
    version                BIGINT  NOT NULL,              -- optimistic concurrency
    assessment_count       BIGINT  NOT NULL DEFAULT 0,
    feedback_count         BIGINT  NOT NULL DEFAULT 0,
    latest_assessment_time BIGINT,
    PRIMARY KEY (tenant, person_id)
);
CREATE INDEX people_by_update ON people (tenant, update_time DESC, person_id);

CREATE TABLE assessments (
    seq           BIGSERIAL NOT NULL,
    tenant        TEXT    NOT NULL,
    person_id     TEXT    NOT NULL,
    assessment_id TEXT    NOT NULL,
    observe_time  BIGINT  NOT NULL,
    create_time   BIGINT  NOT NULL,
    payload       BYTEA   NOT NULL,                       -- tutti.v1.Assessment
    PRIMARY KEY (tenant, person_id, assessment_id)
);
CREATE INDEX assessments_by_time ON assessments (tenant, person_id, observe_time DESC, assessment_id DESC);
CREATE INDEX assessments_in_order ON assessments (tenant, person_id, seq);

CREATE TABLE decisions (
    tenant                   TEXT    NOT NULL,
    decision_id              TEXT    NOT NULL,
    person_id                TEXT    NOT NULL,
    request                  TEXT    NOT NULL,             -- JSON of tutti_engine RecommendQuery
    model_version            TEXT    NOT NULL,
    decide_time              BIGINT  NOT NULL,
    for_time                 BIGINT  NOT NULL,
    safety_mode              BOOLEAN NOT NULL,
    exploration              DOUBLE PRECISION NOT NULL,
    ranking                  TEXT    NOT NULL,             -- JSON of tutti_engine Ranking
    shadow                   BOOLEAN NOT NULL DEFAULT FALSE,
    platform_intervention_id TEXT,
    first_place              TEXT,
    PRIMARY KEY (tenant, decision_id)
);
CREATE INDEX decisions_by_person ON decisions (tenant, person_id, decide_time);

CREATE TABLE recommendations (
    seq               BIGSERIAL NOT NULL,
    tenant            TEXT    NOT NULL,
    recommendation_id TEXT    NOT NULL,
    decision_id       TEXT    NOT NULL,
    person_id         TEXT    NOT NULL,
    intervention_id   TEXT    NOT NULL,
    role              TEXT    NOT NULL DEFAULT 'live'
                      CHECK (role IN ('live', 'shadow', 'platform')),
    rank              INTEGER,                             -- NULL for role 'platform'
    score             DOUBLE PRECISION,
    propensity        DOUBLE PRECISION,
    for_time          BIGINT  NOT NULL,
    PRIMARY KEY (tenant, recommendation_id)
);
CREATE INDEX recommendations_by_person ON recommendations (tenant, person_id, seq);
CREATE INDEX recommendations_by_decision ON recommendations (tenant, decision_id);

CREATE TABLE feedback (
    seq               BIGSERIAL NOT NULL,
    tenant            TEXT    NOT NULL,
    feedback_id       TEXT    NOT NULL,
    recommendation_id TEXT    NOT NULL,
    person_id         TEXT    NOT NULL,
    intervention_id   TEXT    NOT NULL,
    observe_time      BIGINT  NOT NULL,
    create_time       BIGINT  NOT NULL,
    payload           BYTEA   NOT NULL,                    -- tutti.v1.Feedback
    PRIMARY KEY (tenant, feedback_id)
);
CREATE INDEX feedback_by_person ON feedback (tenant, person_id, seq);
CREATE INDEX feedback_by_recommendation ON feedback (tenant, recommendation_id);

CREATE TABLE interventions (
    tenant          TEXT    NOT NULL,
    intervention_id TEXT    NOT NULL,
    payload         BYTEA   NOT NULL,                      -- tutti.v1.Intervention
    version         BIGINT  NOT NULL,
    create_time     BIGINT  NOT NULL,
    update_time     BIGINT  NOT NULL,
    PRIMARY KEY (tenant, intervention_id)
);

CREATE TABLE idempotency (
    tenant       TEXT    NOT NULL,
    method       TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    response     BYTEA   NOT NULL,
    person_id    TEXT,
    create_time  BIGINT  NOT NULL,
    PRIMARY KEY (tenant, method, request_id)
);
CREATE INDEX idempotency_by_person ON idempotency (tenant, person_id);
CREATE INDEX idempotency_by_time ON idempotency (create_time);

-- The audit trail, hash-chained per tenant (server/src/storage/audit_chain.rs).
-- An append locks its tenant's audit_heads row (SELECT ... FOR UPDATE) until
-- its transaction ends, so appends from several replicas never link to the
-- same predecessor.
CREATE TABLE audit (
    seq        BIGSERIAL PRIMARY KEY,
    time       BIGINT  NOT NULL,
    tenant     TEXT    NOT NULL,
    principal  TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    resource   TEXT    NOT NULL,
    code       INTEGER NOT NULL,
    call_id    TEXT    NOT NULL,
    request_id TEXT,
    trace_id   TEXT    NOT NULL DEFAULT '',
    count      BIGINT  NOT NULL DEFAULT 1,
    tenant_seq BIGINT  NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE UNIQUE INDEX audit_chain ON audit (tenant, tenant_seq);
CREATE INDEX audit_by_tenant_time ON audit (tenant, time);
CREATE INDEX audit_by_request ON audit (request_id);

CREATE TABLE audit_heads (
    tenant TEXT   NOT NULL PRIMARY KEY,
    seq    BIGINT NOT NULL,
    hash   TEXT   NOT NULL
);

-- Append-only, enforced: no row is updated or deleted (erasing a person keeps
-- their audit rows, which hold ids and codes only).
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only';
END;
$$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
