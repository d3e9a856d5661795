package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"elicence/issuer/store"
)

// Principal is the caller of an action: the API token it presented.
type Principal struct {
	// TokenID names the token; it is the actor in the audit log.
	TokenID string
	// Department is the department the token acts for; empty for an
	// operator token.
	Department string
	Scopes     []store.Scope
}

// OperatorActor is the audit actor of operator actions taken on the command
// line, without a token.
const OperatorActor = "operator"

// Operator returns the principal of operator actions taken on the command
// line.
func Operator() *Principal {
	return &Principal{TokenID: OperatorActor, Scopes: []store.Scope{store.ScopeOperator}}
}

// IsOperator reports whether p acts for the trust-list operator.
func (p *Principal) IsOperator() bool {
	return p != nil && p.Department == "" && p.Has(store.ScopeOperator)
}

// Has reports whether p carries scope sc.
func (p *Principal) Has(sc store.Scope) bool {
	if p == nil {
		return false
	}
	for _, x := range p.Scopes {
		if x == sc {
			return true
		}
	}
	return false
}

// requireDept checks that p is a department token with every scope in
// scopes (at least one).
func requireDept(p *Principal, scopes ...store.Scope) error {
	need := scopeList(scopes)
	switch {
	case p == nil:
		return problem(ErrUnauthenticated, "a bearer token is required")
	case p.Department == "":
		return problem(ErrForbidden, "this action needs a department token with scope %s", need)
	}
	for _, sc := range scopes {
		switch {
		case p.Has(sc):
		case len(scopes) == 1:
			return problem(ErrForbidden, "the token lacks scope %s", sc)
		default:
			return problem(ErrForbidden, "the token lacks scope %s (this action needs %s)", sc, need)
		}
	}
	return nil
}

// scopeList names scopes for a message: "issue" or "issue and revoke".
func scopeList(scopes []store.Scope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, " and ")
}

// requireOperator checks that p is an operator.
func requireOperator(p *Principal) error {
	switch {
	case p == nil:
		return problem(ErrUnauthenticated, "a bearer token is required")
	case !p.IsOperator():
		return problem(ErrForbidden, "this action needs an operator token")
	}
	return nil
}

// TokenPrefix starts every token secret the service generates.
const TokenPrefix = "elc_"

// NewTokenSecret returns a new random token secret: TokenPrefix and 43
// URL-safe base64 characters (256 bits).
func NewTokenSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SM3 hash under which a token secret is stored.
func HashToken(secret string) []byte {
	sum := sm3.Sum([]byte(secret))
	return sum[:]
}

// MaxTokenLength bounds a bearer token; longer ones are refused unread.
const MaxTokenLength = 256

// Authenticate returns the principal of a bearer token secret. Unknown,
// revoked and malformed tokens are ErrUnauthenticated. Token lookups are
// cached for a second, so a revocation made by another process takes
// effect within a second; one made by this service at once.
func (s *Admin) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if secret == "" || len(secret) > MaxTokenLength {
		return nil, problem(ErrUnauthenticated, "missing or malformed bearer token")
	}
	hash := HashToken(secret)
	key := hex.EncodeToString(hash)
	now := s.now()
	s.mu.Lock()
	ct, ok := s.tokens[key]
	s.mu.Unlock()
	if !ok || now.Sub(ct.fetched) > defaultTokenCacheLifetime || now.Before(ct.fetched) {
		tok, err := s.store.TokenByHash(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil, problem(ErrUnauthenticated, "unknown or revoked token")
		}
		if err != nil {
			return nil, err
		}
		ct = cachedToken{tok: tok, fetched: now}
		s.mu.Lock()
		if len(s.tokens) > 10000 {
			clear(s.tokens)
		}
		s.tokens[key] = ct
		s.mu.Unlock()
	}
	if ct.tok.Revoked() {
		return nil, problem(ErrUnauthenticated, "unknown or revoked token")
	}
	return &Principal{TokenID: ct.tok.ID, Department: ct.tok.DepartmentCode, Scopes: ct.tok.Scopes}, nil
}

// TokenRequest asks for a new API token.
type TokenRequest struct {
	// ID names the token; a random one is chosen when empty.
	ID string `json:"id,omitempty"`
	// Department is the department the token acts for; empty for an
	// operator token.
	Department string `json:"department,omitempty"`
	// Scopes are "issue", "revoke", "read" for department tokens and
	// "operator" for operator tokens.
	Scopes []store.Scope `json:"scopes"`
	// Name describes the token, e.g. "窗口系统".
	Name string `json:"name"`
	// Secret is the token secret to store (hashed). Empty generates a new
	// random one; only the demo bootstrap sets it.
	Secret string `json:"-"`
}

// CreateToken creates an API token and returns it with its secret, which
// is shown once and stored only hashed. Only an operator may create tokens.
func (s *Admin) CreateToken(ctx context.Context, p *Principal, req TokenRequest) (store.Token, string, error) {
	if err := requireOperator(p); err != nil {
		return store.Token{}, "", err
	}
	var errs []FieldError
	if req.ID == "" {
		b := make([]byte, 6)
		rand.Read(b)
		req.ID = "tok_" + hex.EncodeToString(b)
	}
	if len(req.Scopes) == 0 {
		errs = append(errs, FieldError{"scopes", "at least one scope"})
	}
	for _, sc := range req.Scopes {
		switch sc {
		case store.ScopeIssue, store.ScopeRevoke, store.ScopeRead:
			if req.Department == "" {
				errs = append(errs, FieldError{"scopes", fmt.Sprintf("scope %s needs a department", sc)})
			}
		case store.ScopeOperator:
			if req.Department != "" {
				errs = append(errs, FieldError{"scopes", "scope operator is only for tokens without a department"})
			}
		default:
			errs = append(errs, FieldError{"scopes", fmt.Sprintf("unknown scope %q: want issue, revoke, read or operator", sc)})
		}
	}
	if req.Name == "" || runeLen(req.Name) > 64 {
		errs = append(errs, FieldError{"name", "1 to 64 characters"})
	}
	if len(errs) > 0 {
		return store.Token{}, "", &ValidationError{Errors: errs}
	}
	if req.Department != "" {
		if _, err := s.store.Department(ctx, req.Department); errors.Is(err, store.ErrNotFound) {
			return store.Token{}, "", fieldError("department", "unknown department %s", req.Department)
		} else if err != nil {
			return store.Token{}, "", err
		}
	}
	secret := req.Secret
	if secret == "" {
		secret = NewTokenSecret()
	}
	detail, _ := json.Marshal(map[string]any{"department": req.Department, "scopes": req.Scopes, "name": req.Name})
	tok, err := s.store.CreateToken(ctx, store.Token{
		ID: req.ID, DepartmentCode: req.Department, SecretHash: HashToken(secret), Scopes: req.Scopes, Name: req.Name,
	}, store.AuditEvent{Actor: p.TokenID, Action: "token.create", Subject: req.ID, Detail: detail})
	if errors.Is(err, store.ErrInvalid) {
		return store.Token{}, "", fieldError("id", "want 1 to 64 letters, digits, '-' or '_'")
	}
	if errors.Is(err, store.ErrDuplicate) {
		return store.Token{}, "", problem(store.ErrDuplicate, "a token with this id or secret exists")
	}
	if err != nil {
		return store.Token{}, "", err
	}
	return tok, secret, nil
}

// RevokeToken revokes an API token; it stops working at once in this
// process and within a second in others.
func (s *Admin) RevokeToken(ctx context.Context, p *Principal, id string) (store.Token, error) {
	if err := requireOperator(p); err != nil {
		return store.Token{}, err
	}
	tok, err := s.store.RevokeToken(ctx, id, store.AuditEvent{Actor: p.TokenID, Action: "token.revoke", Subject: id})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Token{}, problem(store.ErrNotFound, "no token %s", id)
	case errors.Is(err, store.ErrInvalidTransition):
		return store.Token{}, problem(store.ErrInvalidTransition, "token %s is already revoked", id)
	case err != nil:
		return store.Token{}, err
	}
	s.mu.Lock()
	delete(s.tokens, hex.EncodeToString(tok.SecretHash))
	s.mu.Unlock()
	return tok, nil
}

// Tokens lists the tokens of a department (the operator tokens for an
// empty dept), without secrets.
func (s *Admin) Tokens(ctx context.Context, p *Principal, dept string) ([]store.Token, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	return s.store.ListTokens(ctx, dept)
}
