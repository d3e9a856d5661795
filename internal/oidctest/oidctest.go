// Package oidctest runs a real OpenID Connect provider for tests: the
// example provider of github.com/zitadel/oidc (its op package, example
// storage and login page), with users who carry the holder's ID number in
// a claim, as a province's identity provider does. Tests sign in through
// its login form, over HTTP or in a browser.
package oidctest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a provider account.
type User struct {
	Username, Password string
	// Name and HolderID are asserted in the ID token's "name" claim and
	// in Provider.HolderClaim ("" asserts no holder ID).
	Name, HolderID string
}

// Provider is a running provider.
type Provider struct {
	// Issuer is the provider's issuer URL, e.g. http://127.0.0.1:PORT/.
	Issuer string
	// ClientID and ClientSecret are the registered client.
	ClientID, ClientSecret string
	// HolderClaim is the claim with the holder ID.
	HolderClaim string
}

// Start runs a provider until the test ends, with one web client whose
// redirect URLs are redirects, and the users.
func Start(t testing.TB, holderClaim string, redirects []string, users ...User) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{
		Issuer: "http://" + ln.Addr().String() + "/", ClientID: "elicence-wallet",
		ClientSecret: "oidctest-client-secret", HolderClaim: holderClaim,
	}
	us := userStore{users: map[string]*storage.User{}, claims: map[string]User{}}
	for i, u := range users {
		id := "u" + string(rune('1'+i))
		first, last := u.Name, ""
		us.users[id] = &storage.User{
			ID: id, Username: u.Username, Password: u.Password, FirstName: first, LastName: last,
			Email: u.Username + "@example.test", EmailVerified: true, PreferredLanguage: language.Chinese,
		}
		us.claims[id] = u
	}
	clients := map[string]*storage.Client{p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, redirects...)}
	st := &claimStorage{Storage: storage.NewStorageWithClients(us, clients), users: us, claim: holderClaim}
	h := exampleop.SetupServer(p.Issuer, st, nil, false)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return p
}

// userStore implements the example storage's UserStore.
type userStore struct {
	users  map[string]*storage.User
	claims map[string]User
}

func (u userStore) GetUserByID(id string) *storage.User { return u.users[id] }

func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, us := range u.users {
		if strings.EqualFold(us.Username, name) {
			return us
		}
	}
	return nil
}

func (u userStore) ExampleClientID() string { return storage.ServiceUserID }

// claimStorage asserts the users' name and holder ID in their ID tokens.
type claimStorage struct {
	*storage.Storage
	users userStore
	claim string
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: it is
// called for each ID token.
func (s *claimStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	u, ok := s.users.claims[req.GetSubject()]
	if !ok {
		return nil
	}
	ui.Name = u.Name
	if u.HolderID != "" {
		ui.AppendClaims(s.claim, u.HolderID)
	}
	return nil
}
