package issuerapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"elicence/issuer"
	"elicence/issuer/store"
)

// TestWalletSessionLifecycle shows on both backends that a wallet session
// lives in the store: a second service on the same store (another
// process, or the same one restarted) accepts the session and the login
// token the first made; a refresh rotates the secret (the old one is then
// 401 on every service) and extends the session; sign-out ends it
// everywhere; and an expired session is 401 under the injected clock.
func TestWalletSessionLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		e := newEnv(t, st, issuer.Config{Now: clock}, Config{})
		e.issue(refDriving)

		// The second process: its own service on the same store.
		cfg2 := e.f.Config
		cfg2.Registry = prometheus.NewRegistry()
		svc2, err := issuer.New(cfg2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc2.Close() })
		srv2 := httptest.NewServer(New(Config{Service: svc2}))
		t.Cleanup(srv2.Close)
		e2 := &env{t: t, f: e.f, svc: svc2, srv: srv2, tokens: e.tokens}

		// A link made on the first is redeemed on the second.
		token := e.loginToken(t, citizenID)
		r := e2.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`)
		var ws issuer.WalletSession
		r.json(t, &ws)
		if r.status != 200 || !ws.ExpiresAt.Equal(now.Add(issuer.DefaultWalletSessionTTL)) {
			t.Fatalf("session on the second service: %d %s", r.status, r.body)
		}
		for i, x := range []*env{e, e2} {
			if r := x.req("GET", "/v1/wallet/licences", ws.Session, ""); r.status != 200 {
				t.Errorf("service %d refuses the session: %d %s", i+1, r.status, r.body)
			}
		}

		// Refresh a day later: a new secret, a new expiry; the old secret
		// is refused on both services.
		now = now.Add(24 * time.Hour)
		r = e.req("POST", "/v1/wallet/session/refresh", ws.Session, "")
		var ws2 issuer.WalletSession
		r.json(t, &ws2)
		if r.status != 200 || ws2.Session == ws.Session || !ws2.ExpiresAt.Equal(now.Add(issuer.DefaultWalletSessionTTL)) {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
		for i, x := range []*env{e, e2} {
			if r := x.req("GET", "/v1/wallet/licences", ws.Session, ""); r.status != 401 {
				t.Errorf("service %d accepts the secret replaced by the refresh: %d", i+1, r.status)
			}
			if r := x.req("GET", "/v1/wallet/licences", ws2.Session, ""); r.status != 200 {
				t.Errorf("service %d refuses the refreshed session: %d", i+1, r.status)
			}
		}
		if r := e2.req("POST", "/v1/wallet/session/refresh", ws.Session, ""); r.status != 401 {
			t.Errorf("a second refresh with the old secret: %d", r.status)
		}

		// Expiry: just before it works, at it 401.
		now = ws2.ExpiresAt.Add(-time.Second)
		if r := e2.req("GET", "/v1/wallet/licences", ws2.Session, ""); r.status != 200 {
			t.Errorf("a second before expiry: %d", r.status)
		}
		now = ws2.ExpiresAt
		if r := e2.req("GET", "/v1/wallet/licences", ws2.Session, ""); r.status != 401 {
			t.Errorf("at expiry: %d", r.status)
		}
		if r := e2.req("POST", "/v1/wallet/session/refresh", ws2.Session, ""); r.status != 401 {
			t.Errorf("refresh of an expired session: %d", r.status)
		}

		// Sign-out on one service ends the session on the other.
		now = ws2.ExpiresAt.Add(-time.Hour)
		ws3 := e.walletSession(t, citizenID)
		if r := e2.req("DELETE", "/v1/wallet/session", ws3, ""); r.status != 204 {
			t.Fatalf("sign-out: %d %s", r.status, r.body)
		}
		if r := e.req("GET", "/v1/wallet/licences", ws3, ""); r.status != 401 {
			t.Errorf("the signed-out session still works on the other service: %d", r.status)
		}
		if r := e.req("DELETE", "/v1/wallet/session", ws3, ""); r.status != 401 {
			t.Errorf("a second sign-out: %d", r.status)
		}

		// The store knows the session by its secret's hash; no secret is
		// in the audit log.
		if got, err := st.WalletSessionByHash(t.Context(), issuer.HashToken(ws2.Session)); err != nil || got.Grant.HolderCode != citizenID {
			t.Errorf("session by hash: %+v, %v", got, err)
		}
		entries, err := st.ListAudit(t.Context(), 0, store.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range entries {
			for _, secret := range []string{token, ws.Session, ws2.Session, ws3} {
				if strings.Contains(string(a.Detail), secret) || strings.Contains(a.Subject, secret) {
					t.Errorf("audit entry %d (%s) holds a wallet secret", a.Seq, a.Action)
				}
			}
		}
	})
}
