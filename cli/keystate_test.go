package cli

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"elicence/api/issuerapi"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// TestIssuerKeyState runs "issuer key-state" against a running issuer:
// it marks a key compromised, which the store then holds; the issuer's
// refusal of a second change (409) and a usage mistake exit as they
// should.
func TestIssuerKeyState(t *testing.T) {
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{})
	srv := httptest.NewServer(issuerapi.New(issuerapi.Config{Service: f.Service, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	k, err := f.Store.ActiveSigningKey(ctx, issuertest.Other)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	since := now.Add(-time.Hour).UTC().Format(time.RFC3339)
	args := []string{"issuer", "key-state", "--server", srv.URL, "--token", f.Tokens[issuertest.TokenOperator],
		"--dept", issuertest.Other, "--key", k.ID, "--state", "compromised", "--since", since}

	r := mustRun(t, now, args...)
	if want := "key " + issuertest.Other + "/" + k.ID + " is compromised since " + since + "\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if got, err := f.Store.SigningKey(ctx, issuertest.Other, k.ID); err != nil || got.State != store.KeyCompromised || got.CompromisedSince.Format(time.RFC3339) != since {
		t.Errorf("stored key: %s since %v (%v), want compromised since %s", got.State, got.CompromisedSince, err, since)
	}

	if r := elicence(t, now, args...); r.code != ExitError || !strings.Contains(r.stderr, "409") || !strings.Contains(r.stderr, "is compromised and cannot become compromised") {
		t.Errorf("second change: exit %d, stderr %q; want %d and the issuer's 409", r.code, r.stderr, ExitError)
	}
	noSince := args[:len(args)-2]
	if r := elicence(t, now, noSince...); r.code != ExitUsage || !strings.Contains(r.stderr, "--since") {
		t.Errorf("compromised without --since: exit %d, stderr %q; want %d", r.code, r.stderr, ExitUsage)
	}
}
