-- Tutti schema, version 3: the logging policy's whole first-place distribution.
--
-- Until now a decision kept the propensities of its returned items only, so an
-- off-policy evaluation whose target could put first an item the server did
-- not return had no logging probability for it (unknown is not zero). The
-- ranking draws every candidate's probability of being first anyway; storing
-- it makes the logging distribution complete. JSON array of
-- [intervention_id, probability] for every candidate with probability > 0, in
-- catalogue order; NULL for decisions written before this version.
ALTER TABLE decisions ADD COLUMN first_place TEXT;
