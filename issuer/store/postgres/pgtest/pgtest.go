// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is named by the environment variable ELICENCE_TEST_POSTGRES,
// a postgres:// URL of an existing database to connect to (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); the role needs
// the CREATEDB privilege. If the server cannot be reached, tests are
// skipped, unless the environment variable CI is "true": then they fail,
// so that CI never passes without running them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the test server.
const EnvURL = "ELICENCE_TEST_POSTGRES"

// DefaultURL is used when EnvURL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// NewDatabase creates a database named elicence_test_<random>, drops it
// (with FORCE, closing leftover connections) when the test ends, and
// returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL, got %q", EnvURL, base)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unreachable(tb, u, err)
	}
	defer conn.Close(ctx)

	var b [8]byte
	rand.Read(b[:])
	name := "elicence_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("PostgreSQL at %s: create database %s: %v", u.Redacted(), name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("PostgreSQL at %s: drop database %s: %v", u.Redacted(), name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("PostgreSQL at %s: drop database %s: %v", u.Redacted(), name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func unreachable(tb testing.TB, u *url.URL, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL unreachable at %s (set by %s; required because CI=true): %v", u.Redacted(), EnvURL, err)
	}
	tb.Skipf("PostgreSQL unreachable at %s; set %s to a reachable server to run this test: %v", u.Redacted(), EnvURL, err)
}
