package issuerapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/oauth2"

	"elicence/api"
	"elicence/issuer"
)

// DefaultHolderClaim is the ID token claim that carries the holder's
// citizen ID number (or unified social credit code) unless
// OIDCConfig.HolderClaim names another.
const DefaultHolderClaim = "id_number"

// OIDCConfig configures the wallet's sign-in through the province's
// identity provider (OpenID Connect, authorisation code flow with PKCE).
// The holder is the one whose ID number the provider asserts in the claim
// HolderClaim of a verified ID token; the session reaches the holder's
// licences of every department.
type OIDCConfig struct {
	// IssuerURL is the provider's issuer; its discovery document is read
	// on the first sign-in (and again after a failure).
	IssuerURL string
	// ClientID and ClientSecret are this issuer's client at the provider.
	ClientID, ClientSecret string
	// RedirectURL is this issuer's /v1/wallet/oidc/callback as the
	// provider knows it, e.g. https://issuer.example/v1/wallet/oidc/callback.
	RedirectURL string
	// HolderClaim names the claim with the holder's ID number;
	// DefaultHolderClaim if empty. NameClaim names the holder's name
	// claim; "name" if empty.
	HolderClaim, NameClaim string
	// Scopes are requested besides "openid"; "profile" if nil.
	Scopes []string
	// HTTPClient talks to the provider; a client with a 10 s timeout if nil.
	HTTPClient *http.Client
}

// Enabled reports whether c configures a provider.
func (c *OIDCConfig) Enabled() bool { return c != nil && c.IssuerURL != "" }

// Validate checks that an enabled configuration is complete.
func (c *OIDCConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"client ID", c.ClientID}, {"client secret", c.ClientSecret}, {"redirect URL", c.RedirectURL}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("oidc: an issuer URL needs a %s", strings.Join(missing, ", a "))
	}
	for _, u := range []string{c.IssuerURL, c.RedirectURL} {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return fmt.Errorf("oidc: %q is not an absolute http(s) URL", u)
		}
	}
	return nil
}

// oidcLogin is the relying party. It keeps nothing per sign-in: the state,
// nonce and PKCE verifier are all derived from one random secret held in a
// short-lived cookie on the browser, so the callback may reach any issuer
// process.
type oidcLogin struct {
	cfg OIDCConfig
	svc *issuer.Service
	now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
}

const oidcCookie = "elicence_oidc"

func newOIDCLogin(cfg OIDCConfig, svc *issuer.Service, now func() time.Time) *oidcLogin {
	if cfg.HolderClaim == "" {
		cfg.HolderClaim = DefaultHolderClaim
	}
	if cfg.NameClaim == "" {
		cfg.NameClaim = "name"
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcLogin{cfg: cfg, svc: svc, now: now}
}

func (o *oidcLogin) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

// discover returns the provider, reading its discovery document once it
// has been read successfully.
func (o *oidcLogin) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery of %s: %w", o.cfg.IssuerURL, err)
	}
	o.provider = p
	return p, nil
}

func (o *oidcLogin) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}
}

// derive returns a value for label from the cookie's secret.
func derive(label string, secret []byte) string {
	sum := sm3.Sum(append([]byte("elicence oidc "+label+"\x00"), secret...))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// signInFailed sends the browser back to the wallet page with a reason
// the page words in the holder's language.
func signInFailed(w http.ResponseWriter, r *http.Request, reason string, err error) {
	api.Logger(r.Context()).Warn("wallet sign-in failed", "reason", reason, "err", err)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/wallet#signin_error="+reason, http.StatusSeeOther)
}

// login starts a sign-in: it sets the cookie and redirects to the provider.
func (o *oidcLogin) login(w http.ResponseWriter, r *http.Request) {
	p, err := o.discover(r.Context())
	if err != nil {
		signInFailed(w, r, "provider_unavailable", err)
		return
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	http.SetCookie(w, &http.Cookie{
		Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(secret), Path: "/v1/wallet/oidc",
		MaxAge: 600, HttpOnly: true, Secure: strings.HasPrefix(o.cfg.RedirectURL, "https:"), SameSite: http.SameSiteLaxMode,
	})
	u := o.oauth(p).AuthCodeURL(derive("state", secret), oidc.Nonce(derive("nonce", secret)),
		oauth2.S256ChallengeOption(derive("pkce", secret)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// callback finishes a sign-in: it checks the state against the cookie,
// redeems the code, verifies the ID token and its nonce, and sends the
// browser to the wallet page with a one-time link for the holder.
func (o *oidcLogin) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie(oidcCookie)
	var secret []byte
	if err == nil {
		secret, err = base64.RawURLEncoding.DecodeString(c.Value)
	}
	if err != nil || len(secret) != 32 {
		signInFailed(w, r, "expired", errors.New("no sign-in cookie"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Path: "/v1/wallet/oidc", MaxAge: -1, HttpOnly: true,
		Secure: strings.HasPrefix(o.cfg.RedirectURL, "https:"), SameSite: http.SameSiteLaxMode})
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(derive("state", secret))) != 1 {
		signInFailed(w, r, "expired", errors.New("state does not match the cookie"))
		return
	}
	if e := q.Get("error"); e != "" {
		signInFailed(w, r, "denied", fmt.Errorf("provider answered %.64q", e))
		return
	}
	p, err := o.discover(r.Context())
	if err != nil {
		signInFailed(w, r, "provider_unavailable", err)
		return
	}
	ctx := o.ctx(r.Context())
	tok, err := o.oauth(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(derive("pkce", secret)))
	if err != nil {
		signInFailed(w, r, "provider_refused", fmt.Errorf("code exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		signInFailed(w, r, "provider_refused", errors.New("no id_token in the token response"))
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.now}).Verify(ctx, raw)
	if err != nil {
		signInFailed(w, r, "provider_refused", fmt.Errorf("id token: %w", err))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(derive("nonce", secret))) != 1 {
		signInFailed(w, r, "provider_refused", errors.New("id token nonce does not match"))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		signInFailed(w, r, "provider_refused", fmt.Errorf("id token claims: %w", err))
		return
	}
	holder, _ := claims[o.cfg.HolderClaim].(string)
	name, _ := claims[o.cfg.NameClaim].(string)
	link, err := o.svc.Wallet.CreateIdentityLink(r.Context(), issuer.Identity{
		Issuer: idt.Issuer, Subject: idt.Subject, HolderID: strings.ToUpper(strings.TrimSpace(holder)), Name: name,
	})
	if err != nil {
		reason := "no_holder_id"
		if !errors.Is(err, issuer.ErrUnauthenticated) {
			reason = "unavailable"
		}
		signInFailed(w, r, reason, fmt.Errorf("claim %q: %w", o.cfg.HolderClaim, err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, link.URL, http.StatusSeeOther)
}
