-- The full licence record (format.Record, salt included) whose SM3 digest
-- the credential binds, so that the issuer can show what it signed.

-- +goose Up
ALTER TABLE licences ADD COLUMN record BLOB NOT NULL DEFAULT x'';

-- +goose Down
ALTER TABLE licences DROP COLUMN record;
