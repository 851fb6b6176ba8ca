-- The third question before support (DESIGN §5, issue 15 §4): an initial teacher training line names its provider,
-- which matching compares with what the teacher typed, and a connection can be made through it ('itt').

ALTER TABLE qualifications ADD COLUMN provider TEXT;
-- Records seeded before this migration wrote the provider only into the name ("PGCE – University of Leeds").
UPDATE qualifications SET provider = substr(name, 8) WHERE kind = 'itt' AND name LIKE 'PGCE – %';
-- The provider field's suggestions read every distinct provider.
CREATE INDEX qualifications_itt_provider ON qualifications (provider) WHERE kind = 'itt';

ALTER TABLE connections DROP CONSTRAINT connections_matched_via_check;
ALTER TABLE connections ADD CONSTRAINT connections_matched_via_check
    CHECK (matched_via IN ('automatic', 'nino', 'trn', 'itt', 'support'));
