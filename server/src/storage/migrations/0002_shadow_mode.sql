-- Tutti schema, version 2: shadow mode (issue 4). A tenant in shadow mode keeps
-- showing the platform's own choice; Tutti logs what it would have recommended.
--
-- decisions.shadow marks decisions whose ranking was not shown. The platform's
-- choice is stored on the decision (as sent, in either mode) and, for shadow
-- decisions, as a recommendation row of its own so feedback on what the person
-- was actually offered attaches to it exactly as in live mode.
ALTER TABLE decisions ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN platform_intervention_id TEXT;

-- recommendations.role: 'live' (Tutti's item, shown), 'shadow' (Tutti's item,
-- logged but not shown) or 'platform' (the platform's choice in a shadow
-- decision, shown). A platform row has no rank, score or propensity: the
-- platform's policy logged none, and 0 would read as "never chosen". SQLite
-- cannot drop NOT NULL in place, so the table is rebuilt; rowids are kept
-- because replay reads rows in rowid order.
CREATE TABLE recommendations_v2 (
    tenant            TEXT    NOT NULL,
    recommendation_id TEXT    NOT NULL,
    decision_id       TEXT    NOT NULL,
    person_id         TEXT    NOT NULL,
    intervention_id   TEXT    NOT NULL,
    role              TEXT    NOT NULL DEFAULT 'live'
                      CHECK (role IN ('live', 'shadow', 'platform')),
    rank              INTEGER,                            -- NULL for role 'platform'
    score             REAL,                               -- NULL for role 'platform'
    propensity        REAL,                               -- NULL for role 'platform'
    for_time          INTEGER NOT NULL,
    PRIMARY KEY (tenant, recommendation_id)
);
INSERT INTO recommendations_v2 (rowid, tenant, recommendation_id, decision_id, person_id,
                                intervention_id, role, rank, score, propensity, for_time)
    SELECT rowid, tenant, recommendation_id, decision_id, person_id,
           intervention_id, 'live', rank, score, propensity, for_time
    FROM recommendations;
DROP TABLE recommendations;
ALTER TABLE recommendations_v2 RENAME TO recommendations;
CREATE INDEX recommendations_by_person ON recommendations (tenant, person_id);
CREATE INDEX recommendations_by_decision ON recommendations (tenant, decision_id);
