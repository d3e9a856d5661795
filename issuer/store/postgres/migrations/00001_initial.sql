-- Schema of the issuer store on PostgreSQL. Opaque byte fields (JSON
-- included) are bytea so that they come back byte for byte as stored.

-- +goose Up
CREATE TABLE departments (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE signing_keys (
    department_code   text NOT NULL REFERENCES departments (code),
    id                text NOT NULL,
    public_key        bytea NOT NULL,
    private_key_pem   bytea NOT NULL,
    certificate       bytea NOT NULL,
    state             text NOT NULL CHECK (state IN ('active', 'retired', 'compromised')),
    compromised_since timestamptz,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (department_code, id),
    CHECK ((state = 'compromised') = (compromised_since IS NOT NULL))
);
-- At most one active key per department.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (department_code) WHERE state = 'active';

CREATE TABLE api_tokens (
    id              text PRIMARY KEY,
    department_code text REFERENCES departments (code),
    secret_hash     bytea NOT NULL UNIQUE,
    scopes          text NOT NULL, -- sorted, space-separated
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX api_tokens_department ON api_tokens (department_code);

CREATE TABLE licence_types (
    code                  text PRIMARY KEY,
    name                  text NOT NULL,
    authority             text NOT NULL,
    field_definitions     bytea NOT NULL,
    default_validity_days integer NOT NULL CHECK (default_validity_days >= 0),
    created_at            timestamptz NOT NULL
);

CREATE TABLE type_authorisations (
    department_code text NOT NULL REFERENCES departments (code),
    type_code       text NOT NULL REFERENCES licence_types (code),
    PRIMARY KEY (department_code, type_code)
);

-- next_serial is the next serial to hand out; a block of n is taken with
-- one UPDATE ... RETURNING, committed on its own.
CREATE TABLE serial_counters (
    department_code text NOT NULL REFERENCES departments (code),
    type_code       text NOT NULL REFERENCES licence_types (code),
    next_serial     bigint NOT NULL CHECK (next_serial > 0),
    PRIMARY KEY (department_code, type_code)
);

CREATE TABLE status_lists (
    id              text PRIMARY KEY,
    department_code text NOT NULL REFERENCES departments (code),
    seq             integer NOT NULL CHECK (seq > 0),
    size            integer NOT NULL CHECK (size > 0),
    allocated       integer NOT NULL CHECK (allocated >= 0 AND allocated <= size / 2),
    revision        bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (department_code, seq)
);

-- One row per handed-out index; the primary key makes (list, index) unique.
-- No foreign key to status_lists: it would cost a lookup per row in bulk
-- issuance, and slots are only inserted for a list just reserved from.
CREATE TABLE status_slots (
    list_id text NOT NULL,
    idx     integer NOT NULL CHECK (idx >= 0),
    PRIMARY KEY (list_id, idx)
);

-- Licences have no foreign keys to departments, licence_types or
-- status_slots: bulk issuance (COPY) would pay a lookup per key per row,
-- halving its throughput. The issuance path guarantees them instead: a
-- licence's department and type must match the serial allocation, which
-- requires a type_authorisations row (which has those foreign keys), and
-- its slot must match one the same transaction inserted into status_slots,
-- whose primary key already makes (list, index) unique. Departments and
-- types are never deleted.
CREATE TABLE licences (
    id                text PRIMARY KEY,
    department_code   text NOT NULL,
    type_code         text NOT NULL,
    serial            bigint NOT NULL,
    version           integer NOT NULL CHECK (version > 0),
    holder_name       text NOT NULL,
    holder_kind       text NOT NULL,
    holder_code       text NOT NULL,
    fields            bytea NOT NULL,
    valid_from        timestamptz NOT NULL,
    valid_until       timestamptz,
    issued_at         timestamptz NOT NULL,
    status            smallint NOT NULL CHECK (status IN (0, 1, 2)),
    status_list_id    text NOT NULL,
    status_index      integer NOT NULL,
    credential        bytea NOT NULL,
    record_digest     bytea NOT NULL,
    supersedes        text UNIQUE REFERENCES licences (id),
    status_reason     text,
    status_changed_at timestamptz,
    updated_at        timestamptz NOT NULL,
    UNIQUE (department_code, type_code, serial, version)
);
CREATE INDEX licences_listing ON licences (department_code, issued_at DESC, id DESC);
CREATE INDEX licences_holder ON licences (department_code, holder_code);
CREATE INDEX licences_nonvalid ON licences (status_list_id, status_index) WHERE status <> 0;

CREATE TABLE idempotency_keys (
    department_code text NOT NULL REFERENCES departments (code),
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    licence_id      text NOT NULL REFERENCES licences (id),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (department_code, key)
);

CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    detail    bytea NOT NULL,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL
);

-- The single chain head row. Appending locks it (SELECT ... FOR UPDATE) as
-- the last step of a transaction, which keeps the chain linear across
-- processes.
CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- +goose StatementBegin
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_keep BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- +goose Down
DROP TABLE idempotency_keys, licences, status_slots, status_lists, serial_counters,
    type_authorisations, licence_types, api_tokens, signing_keys, departments,
    audit_log, audit_head;
DROP FUNCTION audit_refuse_change();
