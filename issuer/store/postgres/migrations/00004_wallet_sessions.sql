-- Holders' one-time wallet links and wallet sessions, so that they survive
-- restarts. Only SM3 hashes of their secrets are stored. Times are
-- timestamptz.

-- +goose Up
CREATE TABLE wallet_links (
    id              TEXT PRIMARY KEY,
    secret_hash     bytea NOT NULL UNIQUE,
    holder_code     TEXT NOT NULL,
    holder_name     TEXT NOT NULL,
    departments     TEXT NOT NULL,
    all_departments boolean NOT NULL,
    via             TEXT NOT NULL,
    link_department TEXT NOT NULL,
    link_token      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX wallet_links_expires ON wallet_links (expires_at);

CREATE TABLE wallet_sessions (
    id              TEXT PRIMARY KEY,
    secret_hash     bytea NOT NULL UNIQUE,
    holder_code     TEXT NOT NULL,
    holder_name     TEXT NOT NULL,
    departments     TEXT NOT NULL,
    all_departments boolean NOT NULL,
    via             TEXT NOT NULL,
    link_id         TEXT NOT NULL,
    link_department TEXT NOT NULL,
    link_token      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      timestamptz NOT NULL,
    refreshed_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX wallet_sessions_expires ON wallet_sessions (expires_at);

-- +goose Down
DROP TABLE wallet_sessions;
DROP TABLE wallet_links;
