-- Schema of the issuer store on SQLite. Times are INTEGER microseconds
-- since the Unix epoch (UTC); opaque byte fields (JSON included) are BLOBs
-- so that they come back byte for byte as stored.

-- +goose Up
CREATE TABLE departments (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
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
-- At most one active key per department.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (department_code) WHERE state = 'active';

CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    department_code TEXT REFERENCES departments (code),
    secret_hash     BLOB NOT NULL UNIQUE,
    scopes          TEXT NOT NULL, -- sorted, space-separated
    name            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX api_tokens_department ON api_tokens (department_code);

CREATE TABLE licence_types (
    code                  TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    authority             TEXT NOT NULL,
    field_definitions     BLOB NOT NULL,
    default_validity_days INTEGER NOT NULL CHECK (default_validity_days >= 0),
    created_at            INTEGER NOT NULL
) STRICT;

CREATE TABLE type_authorisations (
    department_code TEXT NOT NULL REFERENCES departments (code),
    type_code       TEXT NOT NULL REFERENCES licence_types (code),
    PRIMARY KEY (department_code, type_code)
) STRICT;

CREATE TABLE serial_counters (
    department_code TEXT NOT NULL REFERENCES departments (code),
    type_code       TEXT NOT NULL REFERENCES licence_types (code),
    next_serial     INTEGER NOT NULL CHECK (next_serial > 0),
    PRIMARY KEY (department_code, type_code)
) STRICT;

CREATE TABLE status_lists (
    id              TEXT PRIMARY KEY,
    department_code TEXT NOT NULL REFERENCES departments (code),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    size            INTEGER NOT NULL CHECK (size > 0),
    allocated       INTEGER NOT NULL CHECK (allocated >= 0 AND allocated <= size / 2),
    revision        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (department_code, seq)
) STRICT;

-- One row per handed-out index; the primary key makes (list, index) unique.
CREATE TABLE status_slots (
    list_id TEXT NOT NULL REFERENCES status_lists (id),
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    PRIMARY KEY (list_id, idx)
) STRICT;

CREATE TABLE licences (
    id                TEXT PRIMARY KEY,
    department_code   TEXT NOT NULL REFERENCES departments (code),
    type_code         TEXT NOT NULL REFERENCES licence_types (code),
    serial            INTEGER NOT NULL,
    version           INTEGER NOT NULL CHECK (version > 0),
    holder_name       TEXT NOT NULL,
    holder_kind       TEXT NOT NULL,
    holder_code       TEXT NOT NULL,
    fields            BLOB NOT NULL,
    valid_from        INTEGER NOT NULL,
    valid_until       INTEGER,
    issued_at         INTEGER NOT NULL,
    status            INTEGER NOT NULL CHECK (status IN (0, 1, 2)),
    status_list_id    TEXT NOT NULL,
    status_index      INTEGER NOT NULL,
    credential        BLOB NOT NULL,
    record_digest     BLOB NOT NULL,
    supersedes        TEXT UNIQUE REFERENCES licences (id),
    status_reason     TEXT,
    status_changed_at INTEGER,
    updated_at        INTEGER NOT NULL,
    UNIQUE (department_code, type_code, serial, version),
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_slots (list_id, idx)
) STRICT;
CREATE INDEX licences_listing ON licences (department_code, issued_at DESC, id DESC);
CREATE INDEX licences_holder ON licences (department_code, holder_code);
CREATE INDEX licences_nonvalid ON licences (status_list_id, status_index) WHERE status <> 0;

CREATE TABLE idempotency_keys (
    department_code TEXT NOT NULL REFERENCES departments (code),
    key             TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    licence_id      TEXT NOT NULL REFERENCES licences (id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (department_code, key)
) STRICT;

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    BLOB NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
) STRICT;

-- The single chain head row, read and moved by every append.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_head_keep BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: DELETE of head refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE licences;
DROP TABLE status_slots;
DROP TABLE status_lists;
DROP TABLE serial_counters;
DROP TABLE type_authorisations;
DROP TABLE licence_types;
DROP TABLE api_tokens;
DROP TABLE signing_keys;
DROP TABLE departments;
DROP TABLE audit_log;
DROP TABLE audit_head;
