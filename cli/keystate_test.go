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

// TestIssuerReissue runs "issuer reissue" against a running issuer: after
// a rotation it re-issues the licences of the old key and says so; a
// second run re-issues nothing; the issuer's refusal for the active key
// (409) and usage mistakes exit as they should.
func TestIssuerReissue(t *testing.T) {
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{})
	srv := httptest.NewServer(issuerapi.New(issuerapi.Config{Service: f.Service, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	p, err := f.Service.Admin.Authenticate(ctx, f.Tokens[issuertest.TokenIssuer])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := f.Service.Licences.Issue(ctx, p, issuer.Request{
			Type: issuer.TypeDrivingLicence, HolderName: "李四", HolderID: "350102199003071234", ValidFrom: "2024-01-15",
			Fields: map[string]string{"cc": "C1", "fi": "2012-01-15"},
		}, ""); err != nil {
			t.Fatal(err)
		}
	}
	old, err := f.Store.ActiveSigningKey(ctx, issuertest.Dept)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	args := []string{"issuer", "reissue", "--server", srv.URL, "--token", f.Tokens[issuertest.TokenOperator], "--dept", issuertest.Dept, "--key", old.ID}
	if r := elicence(t, now, args...); r.code != ExitError || !strings.Contains(r.stderr, "409") || !strings.Contains(r.stderr, "is the active key") {
		t.Errorf("re-issue of the active key: exit %d, stderr %q; want %d and the issuer's 409", r.code, r.stderr, ExitError)
	}
	nk, err := f.Service.Admin.NewDepartmentKey(ctx, issuer.Operator(), issuertest.Dept)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, now, args...)
	want := "re-issued 3 licences of " + issuertest.Dept + " signed by key " + old.ID + " (retired) under key " + nk.ID + "\n" +
		"scanned 3 current licences: 3 signed by the key and still valid, 0 expired (left as they are), 0 changed meanwhile, 0 of a type no longer authorised, 0 invalid\n"
	if !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, " batches in ") {
		t.Errorf("stdout %q, want it to start %q", r.stdout, want)
	}
	r = mustRun(t, now, append(args, "--batch-size", "2")...)
	if !strings.HasPrefix(r.stdout, "re-issued 0 licences") || !strings.Contains(r.stdout, "scanned 3 current licences: 0 signed by the key") {
		t.Errorf("second run: stdout %q, want nothing re-issued", r.stdout)
	}
	for _, bad := range [][]string{
		{"issuer", "reissue", "--server", srv.URL, "--dept", issuertest.Dept},
		{"issuer", "reissue", "--server", srv.URL, "--dept", issuertest.Dept, "--key", "XYZ"},
		{"issuer", "reissue", "--server", srv.URL, "--dept", issuertest.Dept, "--key", old.ID, "--batch-size", "5000"},
	} {
		if r := elicence(t, now, bad...); r.code != ExitUsage {
			t.Errorf("%v: exit %d, stderr %q; want %d", bad[2:], r.code, r.stderr, ExitUsage)
		}
	}
}
