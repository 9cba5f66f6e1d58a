-- Tutti schema, version 1. Times are milliseconds since the Unix epoch (UTC).
-- Every table has a tenant column and every query is scoped by it. Event
-- payloads are encoded tutti.v1 messages; state and rankings are JSON.

CREATE TABLE people (
    tenant                 TEXT    NOT NULL,
    person_id              TEXT    NOT NULL,
    conditions             TEXT    NOT NULL,              -- JSON array of engine conditions
    create_time            INTEGER NOT NULL,
    update_time            INTEGER NOT NULL,
    state                  TEXT    NOT NULL,              -- JSON of tutti_engine PersonState
    version                INTEGER NOT NULL,              -- optimistic concurrency
    assessment_count       INTEGER NOT NULL DEFAULT 0,
    feedback_count         INTEGER NOT NULL DEFAULT 0,
    latest_assessment_time INTEGER,
    PRIMARY KEY (tenant, person_id)
);

CREATE TABLE assessments (
    tenant        TEXT    NOT NULL,
    person_id     TEXT    NOT NULL,
    assessment_id TEXT    NOT NULL,
    observe_time  INTEGER NOT NULL,
    create_time   INTEGER NOT NULL,
    payload       BLOB    NOT NULL,                       -- tutti.v1.Assessment
    PRIMARY KEY (tenant, person_id, assessment_id)
);
CREATE INDEX assessments_by_time ON assessments (tenant, person_id, observe_time DESC, assessment_id DESC);

-- The decision log: one row per Recommend call, with everything needed to
-- evaluate the policy off-line (query incl. seed, model version, full ranking
-- with scores and propensities).
CREATE TABLE decisions (
    tenant        TEXT    NOT NULL,
    decision_id   TEXT    NOT NULL,
    person_id     TEXT    NOT NULL,
    request       TEXT    NOT NULL,                       -- JSON of tutti_engine RecommendQuery
    model_version TEXT    NOT NULL,
    decide_time   INTEGER NOT NULL,
    for_time      INTEGER NOT NULL,                       -- the time the ranking is for
    safety_mode   INTEGER NOT NULL,
    exploration   REAL    NOT NULL,
    ranking       TEXT    NOT NULL,                       -- JSON of tutti_engine Ranking
    PRIMARY KEY (tenant, decision_id)
);
CREATE INDEX decisions_by_person ON decisions (tenant, person_id, decide_time);

CREATE TABLE recommendations (
    tenant            TEXT    NOT NULL,
    recommendation_id TEXT    NOT NULL,
    decision_id       TEXT    NOT NULL,
    person_id         TEXT    NOT NULL,
    intervention_id   TEXT    NOT NULL,
    rank              INTEGER NOT NULL,
    score             REAL    NOT NULL,
    propensity        REAL    NOT NULL,
    for_time          INTEGER NOT NULL,
    PRIMARY KEY (tenant, recommendation_id)
);
CREATE INDEX recommendations_by_person ON recommendations (tenant, person_id);
CREATE INDEX recommendations_by_decision ON recommendations (tenant, decision_id);

CREATE TABLE feedback (
    tenant            TEXT    NOT NULL,
    feedback_id       TEXT    NOT NULL,
    recommendation_id TEXT    NOT NULL,
    person_id         TEXT    NOT NULL,
    intervention_id   TEXT    NOT NULL,
    observe_time      INTEGER NOT NULL,
    create_time       INTEGER NOT NULL,
    payload           BLOB    NOT NULL,                   -- tutti.v1.Feedback
    PRIMARY KEY (tenant, feedback_id)
);
CREATE INDEX feedback_by_person ON feedback (tenant, person_id);
CREATE INDEX feedback_by_recommendation ON feedback (tenant, recommendation_id);

-- A tenant's own interventions; built-ins come from the engine's catalogue.
CREATE TABLE interventions (
    tenant          TEXT    NOT NULL,
    intervention_id TEXT    NOT NULL,
    payload         BLOB    NOT NULL,                     -- tutti.v1.Intervention
    version         INTEGER NOT NULL,
    create_time     INTEGER NOT NULL,
    update_time     INTEGER NOT NULL,
    PRIMARY KEY (tenant, intervention_id)
);

-- First responses of writes, keyed by the client's request id. person_id names
-- whose data the response holds, so erasing a person erases these too.
CREATE TABLE idempotency (
    tenant       TEXT    NOT NULL,
    method       TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,                        -- hex SHA-256 of the request
    response     BLOB    NOT NULL,
    person_id    TEXT,
    create_time  INTEGER NOT NULL,
    PRIMARY KEY (tenant, method, request_id)
);
CREATE INDEX idempotency_by_person ON idempotency (tenant, person_id);

-- Append-only: who did what to which resource, and how it ended. Ids and codes
-- only, never payloads or free text; kept when a person is erased.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL,
    tenant     TEXT    NOT NULL,
    principal  TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    resource   TEXT    NOT NULL,
    code       INTEGER NOT NULL,                          -- gRPC status code
    call_id    TEXT    NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_by_tenant_time ON audit (tenant, time);
