package issuer_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/issuer/store/storeopen"
)

// TestBootstrapDemoToken runs the demo set-up five times on one data
// directory, as make run does, and checks that a chosen demo token is
// honoured on every run, that no run loses a token an earlier one made,
// and that a chosen token a header cannot carry is refused.
func TestBootstrapDemoToken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	st, err := storeopen.Open(ctx, filepath.Join(dir, "elicence.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pass := []byte("test only")
	boot := func(chosen string) (*issuer.BootstrapResult, error) {
		return issuer.Bootstrap(ctx, issuer.BootstrapConfig{Store: st, DataDir: dir, Passphrase: pass, DemoToken: chosen, Now: now})
	}
	works := func(secret string) bool {
		t.Helper()
		svc, err := issuer.New(issuer.Config{Store: st, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		p, err := svc.Admin.Authenticate(ctx, secret)
		return err == nil && p.Department == issuer.DemoDepartmentCode
	}

	// The first run, no token chosen: a random one, shown.
	r, err := boot("")
	if err != nil {
		t.Fatal(err)
	}
	if r.DemoTokenSource != issuer.DemoTokenGenerated || !strings.HasPrefix(r.DemoToken, issuer.TokenPrefix) || r.DemoTokenID != issuer.DemoTokenID {
		t.Fatalf("first run: %+v", r)
	}
	first := r.DemoToken
	// A later run choosing a token: stored beside the first.
	if r, err = boot("demo-token"); err != nil || r.DemoTokenSource != issuer.DemoTokenChosen || !strings.HasPrefix(r.DemoTokenID, issuer.DemoTokenID+"-") || r.DemoToken != "" {
		t.Fatalf("second run: %+v, %v", r, err)
	}
	chosenID := r.DemoTokenID
	// The same choice again: kept, nothing new.
	if r, err = boot("demo-token"); err != nil || r.DemoTokenSource != issuer.DemoTokenKept || r.DemoTokenID != chosenID {
		t.Fatalf("third run: %+v, %v", r, err)
	}
	// No choice: nothing new, nothing shown.
	if r, err = boot(""); err != nil || r.DemoTokenSource != issuer.DemoTokenEarlier || r.DemoToken != "" {
		t.Fatalf("fourth run: %+v, %v", r, err)
	}
	if !works(first) || !works("demo-token") {
		t.Errorf("after four runs: first token works %v, chosen token works %v", works(first), works("demo-token"))
	}
	for _, bad := range []string{"demo token", "démo", strings.Repeat("x", issuer.MaxTokenLength+1)} {
		if _, err := boot(bad); err == nil || !strings.Contains(err.Error(), issuer.DemoTokenEnv) {
			t.Errorf("chosen token %.20q: %v, want an error naming %s", bad, err, issuer.DemoTokenEnv)
		}
	}

	// A chosen token that was revoked cannot come back silently.
	svc, err := issuer.New(issuer.Config{Store: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Admin.RevokeToken(ctx, issuer.Operator(), chosenID); err != nil {
		t.Fatal(err)
	}
	if _, err := boot("demo-token"); err == nil || !strings.Contains(err.Error(), "was revoked: choose another") {
		t.Errorf("revoked chosen token: %v", err)
	}
	// Every demo token revoked: the next run makes a new one rather than
	// leave the demo without a working token.
	if _, err := svc.Admin.RevokeToken(ctx, issuer.Operator(), issuer.DemoTokenID); err != nil {
		t.Fatal(err)
	}
	if r, err = boot(""); err != nil || r.DemoTokenSource != issuer.DemoTokenGenerated || !works(r.DemoToken) {
		t.Errorf("after revoking every demo token: %+v, %v", r, err)
	}
}
