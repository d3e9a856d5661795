-- A key that stops being active loses its private half: the encrypted
-- private key is set to NULL when the key is retired or marked
-- compromised, and the time it stopped being active is recorded.
-- Existing retired keys get their successor's creation time (the moment
-- the rotation retired them) or, without successor, the migration time.

-- +goose Up
ALTER TABLE signing_keys ALTER COLUMN private_key_pem DROP NOT NULL;
ALTER TABLE signing_keys ADD COLUMN retired_at timestamptz;
UPDATE signing_keys k SET private_key_pem = NULL,
    retired_at = COALESCE(
        (SELECT min(n.created_at) FROM signing_keys n
         WHERE n.department_code = k.department_code AND n.created_at > k.created_at),
        now())
    WHERE k.state <> 'active';
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_private_only_active
    CHECK ((state = 'active') = (private_key_pem IS NOT NULL));
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_retired_at
    CHECK ((state = 'active') = (retired_at IS NULL));

-- +goose Down
-- The destroyed private keys cannot come back: a down migration keeps
-- them empty.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_retired_at;
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_private_only_active;
ALTER TABLE signing_keys DROP COLUMN retired_at;
UPDATE signing_keys SET private_key_pem = '\x'::bytea WHERE private_key_pem IS NULL;
ALTER TABLE signing_keys ALTER COLUMN private_key_pem SET NOT NULL;
