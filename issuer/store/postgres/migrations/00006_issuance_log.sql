-- The issuance log (docs/FORMAT.md §17, docs/design/issuance-log.md): one
-- append-only Merkle log per department, named by its origin. Every
-- licence and document receipt the issuer signs is a leaf, written in the
-- transaction that stores it.

-- +goose Up
-- The committed tree of each log: size, root and compact range (the roots
-- of the perfect subtrees covering [0, size), 32 bytes each, concatenated).
-- Every append takes this row FOR UPDATE.
CREATE TABLE tlog_state (
    origin  text PRIMARY KEY,
    size    bigint NOT NULL CHECK (size >= 0),
    root    bytea NOT NULL CHECK (length(root) = 32),
    compact bytea NOT NULL CHECK (length(compact) % 32 = 0)
);

-- One row per leaf: the 34-byte leaf, its RFC 9162 leaf hash (the level-0
-- row of the tiles, and the key of a lookup) and what it commits to: the
-- licence or document stored in the same transaction. A plain column: a
-- foreign-key trigger per leaf (a locking read of the licence just
-- written) is a cost bulk issuance need not pay, since the leaf and its
-- record are written by one transaction; the crash tests
-- join the two to show they agree. The lookup index is a hash index (an
-- equality lookup of random keys).
CREATE TABLE tlog_leaf (
    origin      text NOT NULL,
    idx         bigint NOT NULL CHECK (idx >= 0),
    leaf        bytea NOT NULL CHECK (length(leaf) = 34),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    licence_id  text,
    document_id text,
    PRIMARY KEY (origin, idx),
    CHECK (licence_id IS NULL OR document_id IS NULL)
);
CREATE INDEX tlog_leaf_hash ON tlog_leaf USING hash (hash);

-- Roots of complete subtrees at tree levels 8, 16, … (level-0 hashes are
-- tlog_leaf.hash): the rows of the upper tiles. Insert only.
CREATE TABLE tlog_hash (
    origin text NOT NULL,
    level  smallint NOT NULL CHECK (level > 0 AND level % 8 = 0),
    idx    bigint NOT NULL CHECK (idx >= 0),
    hash   bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (origin, level, idx)
);

-- Signed checkpoints, insert only: the history the witness and monitors
-- check against. cosigned_note is the note with the witness cosignature.
CREATE TABLE tlog_checkpoint (
    origin        text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    note          bytea NOT NULL,
    cosigned_note bytea,
    signed_at     timestamptz NOT NULL,
    PRIMARY KEY (origin, size)
);

-- Each department's log origin, fixed when its log is first used (an
-- origin names a log for good, whatever its URL becomes later), and its
-- checkpoint key (SM2, not a signing key): public key
-- (SubjectPublicKeyInfo DER) and the encrypted PKCS#8 PEM of its private
-- half, as signing_keys keeps them.
CREATE TABLE tlog_key (
    department_code text PRIMARY KEY REFERENCES departments (code),
    origin          text NOT NULL UNIQUE,
    public_key      bytea NOT NULL,
    private_key_pem bytea NOT NULL,
    created_at      timestamptz NOT NULL
);

-- +goose Down
DROP TABLE tlog_key;
DROP TABLE tlog_checkpoint;
DROP TABLE tlog_hash;
DROP TABLE tlog_leaf;
DROP TABLE tlog_state;
