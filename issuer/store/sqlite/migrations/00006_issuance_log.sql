-- The issuance log (docs/FORMAT.md §17, docs/design/issuance-log.md): one
-- append-only Merkle log per department, named by its origin. Every
-- licence and document receipt the issuer signs is a leaf, written in the
-- transaction that stores it. Times are microseconds since the epoch.

-- +goose Up
-- The committed tree of each log: size, root and compact range (the roots
-- of the perfect subtrees covering [0, size), 32 bytes each, concatenated).
CREATE TABLE tlog_state (
    origin  TEXT PRIMARY KEY,
    size    INTEGER NOT NULL CHECK (size >= 0),
    root    BLOB NOT NULL CHECK (length(root) = 32),
    compact BLOB NOT NULL CHECK (length(compact) % 32 = 0)
) STRICT;

-- One row per leaf: the 34-byte leaf, its RFC 9162 leaf hash (the level-0
-- row of the tiles, and the key of a lookup) and what it commits to: the
-- licence or document stored in the same transaction (a plain column, as
-- in PostgreSQL, where a foreign-key check per leaf is a cost bulk
-- issuance need not pay; the tests join the two to show they agree).
CREATE TABLE tlog_leaf (
    origin      TEXT NOT NULL,
    idx         INTEGER NOT NULL CHECK (idx >= 0),
    leaf        BLOB NOT NULL CHECK (length(leaf) = 34),
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    licence_id  TEXT,
    document_id TEXT,
    PRIMARY KEY (origin, idx),
    CHECK (licence_id IS NULL OR document_id IS NULL)
) STRICT;
CREATE INDEX tlog_leaf_hash ON tlog_leaf (hash);

-- Roots of complete subtrees at tree levels 8, 16, … (level-0 hashes are
-- tlog_leaf.hash): the rows of the upper tiles. Insert only.
CREATE TABLE tlog_hash (
    origin TEXT NOT NULL,
    level  INTEGER NOT NULL CHECK (level > 0 AND level % 8 = 0),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    hash   BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (origin, level, idx)
) STRICT;

-- Signed checkpoints, insert only: the history the witness and monitors
-- check against. cosigned_note is the note with the witness cosignature.
CREATE TABLE tlog_checkpoint (
    origin        TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    note          BLOB NOT NULL,
    cosigned_note BLOB,
    signed_at     INTEGER NOT NULL,
    PRIMARY KEY (origin, size)
) STRICT;

-- Each department's log origin, fixed when its log is first used (an
-- origin names a log for good, whatever its URL becomes later), and its
-- checkpoint key (SM2, not a signing key): public key
-- (SubjectPublicKeyInfo DER) and the encrypted PKCS#8 PEM of its private
-- half, as signing_keys keeps them.
CREATE TABLE tlog_key (
    department_code TEXT PRIMARY KEY REFERENCES departments (code),
    origin          TEXT NOT NULL UNIQUE,
    public_key      BLOB NOT NULL,
    private_key_pem BLOB NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE tlog_key;
DROP TABLE tlog_checkpoint;
DROP TABLE tlog_hash;
DROP TABLE tlog_leaf;
DROP TABLE tlog_state;
