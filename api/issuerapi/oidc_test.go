package issuerapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"elicence/internal/oidctest"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// TestOIDCSignIn signs a holder in through a real OpenID Connect provider
// (zitadel's example provider, started here): the authorisation code flow
// with PKCE, the provider's login form, the callback, and the one-time
// link the wallet page redeems. The session reaches the holder's licences
// of both departments, while a department link's session still reaches
// only its department's. It also shows that a forged state, a refusal at
// the provider and a user without the ID-number claim all end on the
// wallet page with their reason, and no session.
func TestOIDCSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		redirect := srv.URL + "/v1/wallet/oidc/callback"
		prov := oidctest.Start(t, "cn_id", []string{redirect},
			oidctest.User{Username: "lisi", Password: "correct horse", Name: "李四", HolderID: citizenID},
			oidctest.User{Username: "noid", Password: "correct horse", Name: "王五"},
		)
		f := issuertest.New(t, st, issuer.Config{Publication: issuer.PublicationConfig{PublicURL: "http://issuer.test"}})
		h = New(Config{Service: f.Service, OIDC: &OIDCConfig{
			IssuerURL: prov.Issuer, ClientID: prov.ClientID, ClientSecret: prov.ClientSecret,
			RedirectURL: redirect, HolderClaim: "cn_id",
		}})
		e := &env{t: t, f: f, svc: f.Service, srv: srv, tokens: f.Tokens}
		mine := e.issue(refDriving)
		if r := e.req("POST", "/v1/licences", e.tokens[issuertest.TokenOther], refDriving); r.status != 201 {
			t.Fatalf("other department issues to the holder: %d %s", r.status, r.body)
		}

		if r := e.req("GET", "/v1/wallet/sign-in", "", ""); r.status != 200 || !strings.Contains(string(r.body), `"oidc":true`) {
			t.Fatalf("sign-in options: %d %s", r.status, r.body)
		}

		// The sign-in, as a browser follows it.
		fragment := signIn(t, srv.URL, prov.Issuer, "lisi", "correct horse")
		token, ok := strings.CutPrefix(fragment, "login=")
		if !ok {
			t.Fatalf("sign-in ended at /wallet#%s, want a login token", fragment)
		}
		r := e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`)
		var ws issuer.WalletSession
		r.json(t, &ws)
		if r.status != 200 || !ws.AllDepartments || ws.Via != "oidc" || ws.HolderName != "李四" {
			t.Fatalf("session from the provider's sign-in: %d %s", r.status, r.body)
		}
		if r := e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`); r.status != 401 {
			t.Errorf("the sign-in's login token works twice: %d", r.status)
		}
		var list struct{ Licences []walletLicenceJSON }
		e.req("GET", "/v1/wallet/licences", ws.Session, "").json(t, &list)
		issuers := map[string]bool{}
		for _, l := range list.Licences {
			issuers[l.IssuerCode] = true
		}
		if len(list.Licences) != 2 || !issuers[issuertest.Dept] || !issuers[issuertest.Other] {
			t.Errorf("the provider's session lists %+v, want the holder's licence of each department", list.Licences)
		}
		if r := e.req("POST", "/v1/wallet/licences/"+url.PathEscape(mine.ID)+"/presentations", ws.Session, ""); r.status != 201 {
			t.Errorf("present from the provider's session: %d %s", r.status, r.body)
		}
		// A department's link still reaches that department only.
		link := e.walletSession(t, citizenID)
		list.Licences = nil
		e.req("GET", "/v1/wallet/licences", link, "").json(t, &list)
		if len(list.Licences) != 1 || list.Licences[0].IssuerCode != issuertest.Dept {
			t.Errorf("a link's session lists %+v, want the department's licence only", list.Licences)
		}

		// The audit names the provider's subject.
		entries, err := st.ListAudit(t.Context(), 0, store.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		var sawLink bool
		for _, a := range entries {
			if a.Action == issuer.ActionIdentityLink && strings.Contains(string(a.Detail), prov.Issuer) && !strings.Contains(string(a.Detail), citizenID) {
				sawLink = true
			}
		}
		if !sawLink {
			t.Errorf("no %s audit entry naming the provider (and not the full ID number)", issuer.ActionIdentityLink)
		}

		// Failures end on the wallet page with a reason.
		if got := signIn(t, srv.URL, prov.Issuer, "noid", "correct horse"); got != "signin_error=no_holder_id" {
			t.Errorf("a user without the ID-number claim ends at /wallet#%s", got)
		}
		if got := callback(t, srv.URL, "?state=forged&code=x"); got != "signin_error=expired" {
			t.Errorf("a callback with no cookie ends at /wallet#%s", got)
		}
	})
}

// signIn follows the sign-in from GET /v1/wallet/oidc/login through the
// provider's login form to the wallet page, and returns the fragment of
// the /wallet URL it ends at.
func signIn(t *testing.T, api, provider, user, password string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var end string
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Path == "/wallet" {
			end = r.URL.Fragment
			if end == "" {
				end = strings.TrimPrefix(r.URL.EscapedFragment(), "#")
			}
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err := c.Get(api + "/v1/wallet/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	id := res.Request.URL.Query().Get("authRequestID")
	if res.StatusCode != 200 || id == "" || !bytes.Contains(body, []byte(`name="password"`)) {
		t.Fatalf("login did not reach the provider's form: %d %s %.200s", res.StatusCode, res.Request.URL, body)
	}
	res, err = c.PostForm(strings.TrimSuffix(provider, "/")+"/login/username", url.Values{"username": {user}, "password": {password}, "id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if end == "" {
		t.Fatalf("the sign-in did not end on the wallet page: %d %s %.300s", res.StatusCode, res.Request.URL, body)
	}
	return end
}

// callback calls the callback with query and no cookie.
func callback(t *testing.T, api, query string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(api + "/v1/wallet/oidc/callback" + query)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/wallet" {
		t.Fatalf("callback: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Fragment
}
