-- Signed documents (the Documents room): one row per signed file, with its
-- status-list slot (rescinded = revoked), and their idempotency keys, a
-- namespace apart from licences', and which departments may sign. Times are microseconds since the epoch.

-- +goose Up
CREATE TABLE documents (
    id                TEXT PRIMARY KEY,
    department_code   TEXT NOT NULL REFERENCES departments (code),
    kind              TEXT NOT NULL CHECK (kind IN ('pdf', 'cms')),
    title             TEXT NOT NULL,
    number            TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    signed_at         INTEGER NOT NULL,
    sm3               BLOB NOT NULL,
    signed_sm3        BLOB NOT NULL,
    size              INTEGER NOT NULL CHECK (size >= 0),
    pages             INTEGER NOT NULL CHECK (pages >= 0),
    status_list_id    TEXT NOT NULL,
    status_index      INTEGER NOT NULL,
    receipt           BLOB NOT NULL,
    signature         BLOB NOT NULL,
    status            INTEGER NOT NULL CHECK (status IN (0, 1)),
    status_reason     TEXT,
    status_changed_at INTEGER,
    updated_at        INTEGER NOT NULL,
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_slots (list_id, idx),
    FOREIGN KEY (department_code, key_id) REFERENCES signing_keys (department_code, id)
) STRICT;
CREATE INDEX documents_nonvalid ON documents (status_list_id, status_index) WHERE status <> 0;

CREATE TABLE document_idempotency_keys (
    department_code TEXT NOT NULL REFERENCES departments (code),
    key             TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    document_id     TEXT NOT NULL REFERENCES documents (id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (department_code, key)
) STRICT;

-- The departments the operator lets sign documents; the trust list says
-- so for each (format §10, key 6), and verifiers enforce it.
CREATE TABLE document_signers (
    department_code TEXT PRIMARY KEY REFERENCES departments (code)
) STRICT;

-- +goose Down
DROP TABLE document_signers;
DROP TABLE document_idempotency_keys;
DROP TABLE documents;
