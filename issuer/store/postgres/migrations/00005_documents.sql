-- Signed documents (the Documents room): one row per signed file, with its
-- status-list slot (rescinded = revoked), and their idempotency keys, a
-- namespace apart from licences', and which departments may sign.

-- +goose Up
CREATE TABLE documents (
    id                text PRIMARY KEY,
    department_code   text NOT NULL REFERENCES departments (code),
    kind              text NOT NULL CHECK (kind IN ('pdf', 'cms')),
    title             text NOT NULL,
    number            text NOT NULL,
    file_name         text NOT NULL,
    key_id            text NOT NULL,
    signed_at         timestamptz NOT NULL,
    sm3               bytea NOT NULL,
    signed_sm3        bytea NOT NULL,
    size              bigint NOT NULL CHECK (size >= 0),
    pages             integer NOT NULL CHECK (pages >= 0),
    status_list_id    text NOT NULL,
    status_index      integer NOT NULL,
    receipt           bytea NOT NULL,
    signature         bytea NOT NULL,
    status            smallint NOT NULL CHECK (status IN (0, 1)),
    status_reason     text,
    status_changed_at timestamptz,
    updated_at        timestamptz NOT NULL,
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_slots (list_id, idx),
    FOREIGN KEY (department_code, key_id) REFERENCES signing_keys (department_code, id)
);
CREATE INDEX documents_nonvalid ON documents (status_list_id, status_index) WHERE status <> 0;

CREATE TABLE document_idempotency_keys (
    department_code text NOT NULL REFERENCES departments (code),
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    document_id     text NOT NULL REFERENCES documents (id),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (department_code, key)
);

-- The departments the operator lets sign documents; the trust list says
-- so for each (format §10, key 6), and verifiers enforce it.
CREATE TABLE document_signers (
    department_code text PRIMARY KEY REFERENCES departments (code)
);

-- +goose Down
DROP TABLE document_signers;
DROP TABLE document_idempotency_keys;
DROP TABLE documents;
