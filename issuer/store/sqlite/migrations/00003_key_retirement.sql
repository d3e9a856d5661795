-- A key that stops being active loses its private half: the encrypted
-- private key is set to NULL when the key is retired or marked
-- compromised, and the time it stopped being active is recorded
-- (microseconds). Existing retired keys get their successor's creation
-- time (the moment the rotation retired them) or, without successor, the
-- migration time. SQLite cannot drop NOT NULL, so the table is rebuilt;
-- no table refers to it.

-- +goose Up
CREATE TABLE signing_keys_new (
    department_code   TEXT NOT NULL REFERENCES departments (code),
    id                TEXT NOT NULL,
    public_key        BLOB NOT NULL,
    private_key_pem   BLOB,
    certificate       BLOB NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'retired', 'compromised')),
    compromised_since INTEGER,
    created_at        INTEGER NOT NULL,
    retired_at        INTEGER,
    PRIMARY KEY (department_code, id),
    CHECK ((state = 'compromised') = (compromised_since IS NOT NULL)),
    CHECK ((state = 'active') = (private_key_pem IS NOT NULL)),
    CHECK ((state = 'active') = (retired_at IS NULL))
) STRICT;
INSERT INTO signing_keys_new (department_code, id, public_key, private_key_pem, certificate, state, compromised_since, created_at, retired_at)
SELECT k.department_code, k.id, k.public_key,
    CASE WHEN k.state = 'active' THEN k.private_key_pem END,
    k.certificate, k.state, k.compromised_since, k.created_at,
    CASE WHEN k.state = 'active' THEN NULL ELSE COALESCE(
        (SELECT min(n.created_at) FROM signing_keys n
         WHERE n.department_code = k.department_code AND n.created_at > k.created_at),
        CAST(unixepoch('subsec') * 1000000 AS INTEGER)) END
FROM signing_keys k;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (department_code) WHERE state = 'active';

-- +goose Down
CREATE TABLE signing_keys_old (
    department_code   TEXT NOT NULL REFERENCES departments (code),
    id                TEXT NOT NULL,
    public_key        BLOB NOT NULL,
    private_key_pem   BLOB NOT NULL,
    certificate       BLOB NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'retired', 'compromised')),
    compromised_since INTEGER,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (department_code, id),
    CHECK ((state = 'compromised') = (compromised_since IS NOT NULL))
) STRICT;
INSERT INTO signing_keys_old SELECT department_code, id, public_key, COALESCE(private_key_pem, X''), certificate, state, compromised_since, created_at
FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_old RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (department_code) WHERE state = 'active';
