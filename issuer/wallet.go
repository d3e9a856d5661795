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
	"sync"
	"time"

	"elicence/format"
	"elicence/identifier"
	"elicence/issuer/store"
)

// walletState holds one-time login links and wallet sessions. They live in
// the memory of one process, keyed by the SM3 hash of their secret: a
// link works on the process that made it, and a restart logs holders out.
// Behind a load balancer, route /v1/holder-links and /v1/wallet to one
// process (or keep sessions sticky).
type walletState struct {
	mu       sync.Mutex
	links    map[string]walletGrant // by hash of the login token
	sessions map[string]walletGrant // by hash of the session token
}

type walletGrant struct {
	holder  string
	name    string
	expires time.Time
}

func newWalletState() *walletState {
	return &walletState{links: map[string]walletGrant{}, sessions: map[string]walletGrant{}}
}

func (w *walletState) sweep(now time.Time) {
	for k, g := range w.links {
		if !now.Before(g.expires) {
			delete(w.links, k)
		}
	}
	for k, g := range w.sessions {
		if !now.Before(g.expires) {
			delete(w.sessions, k)
		}
	}
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HolderLink is a one-time wallet login link.
type HolderLink struct {
	// URL is the wallet page path with the login token in the fragment.
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateHolderLink makes a one-time link with which the holder of
// holderID logs in to the wallet page. Only a department token with scope
// issue may make one, and only for a holder of one of its licences.
func (s *Service) CreateHolderLink(ctx context.Context, p *Principal, holderID string) (HolderLink, error) {
	if err := requireDept(p, store.ScopeIssue); err != nil {
		return HolderLink{}, err
	}
	now := s.now()
	if holderID == "" {
		return HolderLink{}, fieldError("holder_id", "required")
	}
	if identifier.ValidateCitizenID(holderID, now) != nil && identifier.ValidateUSCC(holderID) != nil {
		return HolderLink{}, fieldError("holder_id", "not a valid citizen ID number or unified social credit code")
	}
	ls, _, err := s.store.ListLicences(ctx, store.LicenceQuery{DepartmentCode: p.Department, HolderCode: holderID, Limit: 1})
	if err != nil {
		return HolderLink{}, err
	}
	if len(ls) == 0 {
		return HolderLink{}, problem(store.ErrNotFound, "the department has issued no licence to this holder")
	}
	token := randomSecret()
	exp := now.Add(s.cfg.HolderLinkTTL)
	w := s.wallet
	w.mu.Lock()
	w.sweep(now)
	w.links[hex.EncodeToString(HashToken(token))] = walletGrant{holder: holderID, name: ls[0].HolderName, expires: exp}
	w.mu.Unlock()
	return HolderLink{URL: "/wallet#login=" + token, ExpiresAt: exp.UTC()}, nil
}

// WalletSession is a holder's wallet session.
type WalletSession struct {
	Session    string    `json:"session"`
	HolderName string    `json:"holder_name"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// StartWalletSession exchanges a one-time login token for a session; a
// token works once.
func (s *Service) StartWalletSession(ctx context.Context, loginToken string) (WalletSession, error) {
	now := s.now()
	if loginToken == "" || len(loginToken) > MaxTokenLength {
		return WalletSession{}, problem(ErrUnauthenticated, "invalid or used login token")
	}
	w := s.wallet
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sweep(now)
	key := hex.EncodeToString(HashToken(loginToken))
	g, ok := w.links[key]
	if !ok {
		return WalletSession{}, problem(ErrUnauthenticated, "invalid, expired or used login token")
	}
	delete(w.links, key)
	session := randomSecret()
	g.expires = now.Add(s.cfg.WalletSessionTTL)
	w.sessions[hex.EncodeToString(HashToken(session))] = g
	return WalletSession{Session: session, HolderName: g.name, ExpiresAt: g.expires.UTC()}, nil
}

// Holder is a wallet session's holder.
type Holder struct {
	// Code is the holder's full citizen ID number or credit code; it stays
	// on the server.
	Code string
	Name string
}

// WalletHolder returns the holder of a wallet session token.
func (s *Service) WalletHolder(session string) (*Holder, error) {
	if session == "" || len(session) > MaxTokenLength {
		return nil, problem(ErrUnauthenticated, "a wallet session is required")
	}
	now := s.now()
	w := s.wallet
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.sessions[hex.EncodeToString(HashToken(session))]
	if !ok || !now.Before(g.expires) {
		return nil, problem(ErrUnauthenticated, "invalid or expired wallet session")
	}
	return &Holder{Code: g.holder, Name: g.name}, nil
}

// WalletLicences returns the holder's licences from every department,
// newest first, each in its newest version only (a re-issued licence
// shows as its new version, not the one it superseded).
func (s *Service) WalletLicences(ctx context.Context, h *Holder) ([]store.Licence, error) {
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Licence
	for _, d := range depts {
		q := store.LicenceQuery{DepartmentCode: d.Code, HolderCode: h.Code, Limit: store.MaxPageSize}
		for {
			page, next, err := s.store.ListLicences(ctx, q)
			if err != nil {
				return nil, err
			}
			out = append(out, page...)
			if next == "" || len(out) >= store.MaxPageSize {
				break
			}
			q.Cursor = next
		}
	}
	return newestVersions(out), nil
}

// walletLicence returns the holder's licence id.
func (s *Service) walletLicence(ctx context.Context, h *Holder, id string) (store.Licence, error) {
	lid, err := identifier.ParseLicenceID(id)
	if err != nil {
		return store.Licence{}, problem(store.ErrNotFound, "no licence %q", id)
	}
	l, err := s.store.Licence(ctx, lid.IssuerCode, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.HolderCode != h.Code) {
		return store.Licence{}, problem(store.ErrNotFound, "no licence %s", id)
	}
	return l, err
}

// DepartmentName returns a department's name, or "" if unknown.
func (s *Service) DepartmentName(ctx context.Context, code string) string {
	d, err := s.store.Department(ctx, code)
	if err != nil {
		return ""
	}
	return d.Name
}

// TypeName returns a licence type's name, or "" if unknown.
func (s *Service) TypeName(ctx context.Context, code string) string {
	lt, err := s.licenceType(ctx, code)
	if err != nil {
		return ""
	}
	return lt.Name
}

// Presentation is a dynamic presentation QR.
type Presentation struct {
	QRText         string    `json:"qr_text"`
	NotBefore      time.Time `json:"not_before"`
	ExpiresAt      time.Time `json:"expires_at"`
	RefreshSeconds int       `json:"refresh_seconds"`
}

// usableSigner checks that l may be presented now and returns the key
// that signed its credential, which must sign the presentation too: the
// format binds a presentation or annotated copy to the credential's key,
// so a licence whose key is no longer active gets neither (the old key
// signs nothing new) until the department re-issues it.
func (s *Service) usableSigner(ctx context.Context, l store.Licence, now time.Time) (*signer, error) {
	switch {
	case l.Status != store.StatusValid:
		return nil, problem(ErrNotUsable, "licence %s is %s", l.ID, l.Status)
	case !l.ValidUntil.IsZero() && !now.Before(l.ValidUntil):
		return nil, problem(ErrNotUsable, "licence %s has expired", l.ID)
	}
	_, cred, err := format.ParseCredential(l.Credential)
	if err != nil {
		return nil, fmt.Errorf("stored credential of %s: %w", l.ID, err)
	}
	active, err := s.activeSigner(ctx, l.DepartmentCode)
	var pb *Problem
	if errors.As(err, &pb) && errors.Is(err, ErrUnavailable) {
		return nil, oldKeyProblem(l.ID)
	}
	if err != nil {
		return nil, err
	}
	if string(active.id[:]) != string(cred.KeyID) {
		return nil, oldKeyProblem(l.ID)
	}
	return active, nil
}

// oldKeyProblem refuses a presentation or annotated copy of a licence
// whose signing key is no longer active.
func oldKeyProblem(id string) error {
	return problem(ErrNotUsable, "licence %s was signed by a key that is retired or compromised, which signs nothing new; "+
		"the department must re-issue it under its current key (elicence issuer reissue) before it can be presented", id)
}

// confirmPresented checks, after signing, that the key is still active
// (see confirmActive); if it is not, the signature is thrown away.
func (s *Service) confirmPresented(ctx context.Context, sg *signer, id string) error {
	err := s.confirmActive(ctx, sg)
	if errors.Is(err, errKeyChanged) {
		return oldKeyProblem(id)
	}
	return err
}

// Present signs a dynamic presentation QR for p's department's licence id.
func (s *Service) Present(ctx context.Context, p *Principal, id string) (Presentation, error) {
	l, err := s.Licence(ctx, p, id)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, l)
}

// WalletPresent signs a dynamic presentation QR for the holder's licence.
func (s *Service) WalletPresent(ctx context.Context, h *Holder, id string) (Presentation, error) {
	l, err := s.walletLicence(ctx, h, id)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, l)
}

func (s *Service) present(ctx context.Context, l store.Licence) (Presentation, error) {
	now := s.now()
	sg, err := s.usableSigner(ctx, l, now)
	if err != nil {
		return Presentation{}, err
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	nb := now.Truncate(time.Second)
	exp := nb.Add(s.cfg.PresentationTTL)
	var signed format.Signed
	err = s.sign("presentation", func() (err error) {
		signed, err = format.SignPresentation(sg.key, format.Presentation{
			Credential: l.Credential, NotBefore: nb.Unix(), Expires: exp.Unix(), Nonce: nonce,
		})
		return err
	})
	if err != nil {
		return Presentation{}, err
	}
	if err := s.confirmPresented(ctx, sg, l.ID); err != nil {
		return Presentation{}, err
	}
	return Presentation{
		QRText: format.QRText(format.KindPresentation, signed), NotBefore: nb.UTC(), ExpiresAt: exp.UTC(),
		RefreshSeconds: int(s.cfg.PresentationTTL / time.Second),
	}, nil
}

// AnnotationRequest asks for an annotated copy (加注件).
type AnnotationRequest struct {
	// RelyingDepartment is the code of the only department the copy may
	// be shown to.
	RelyingDepartment string `json:"relying_department"`
	// Purpose is the stated purpose of use (事由).
	Purpose   string    `json:"purpose"`
	ExpiresAt time.Time `json:"expires_at"`
	// ExpiresInDays may be given instead of ExpiresAt.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
}

// AnnotatedCopy is a signed annotated copy.
type AnnotatedCopy struct {
	QRText            string    `json:"qr_text"`
	RelyingDepartment string    `json:"relying_department"`
	Purpose           string    `json:"purpose"`
	ExpiresAt         time.Time `json:"expires_at"`
}

// Annotate signs an annotated copy of p's department's licence id.
func (s *Service) Annotate(ctx context.Context, p *Principal, id string, req AnnotationRequest) (AnnotatedCopy, error) {
	l, err := s.Licence(ctx, p, id)
	if err != nil {
		return AnnotatedCopy{}, err
	}
	return s.annotate(ctx, p.TokenID, l, req)
}

// WalletAnnotate signs an annotated copy of the holder's licence.
func (s *Service) WalletAnnotate(ctx context.Context, h *Holder, id string, req AnnotationRequest) (AnnotatedCopy, error) {
	l, err := s.walletLicence(ctx, h, id)
	if err != nil {
		return AnnotatedCopy{}, err
	}
	return s.annotate(ctx, "wallet", l, req)
}

func (s *Service) annotate(ctx context.Context, actor string, l store.Licence, req AnnotationRequest) (AnnotatedCopy, error) {
	now := s.now()
	var errs []FieldError
	purpose := strings.TrimSpace(req.Purpose)
	switch {
	case purpose == "":
		errs = append(errs, FieldError{"purpose", "required"})
	case len(purpose) > 256:
		errs = append(errs, FieldError{"purpose", "at most 256 bytes"})
	}
	switch {
	case req.ExpiresInDays != 0 && !req.ExpiresAt.IsZero():
		errs = append(errs, FieldError{"expires_in_days", "give expires_at or expires_in_days, not both"})
	case req.ExpiresInDays < 0 || req.ExpiresInDays > int(MaxAnnotatedCopyValidity/(24*time.Hour)):
		errs = append(errs, FieldError{"expires_in_days", "1 to 90"})
	case req.ExpiresInDays > 0:
		req.ExpiresAt = now.Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)
	case req.ExpiresAt.IsZero():
		errs = append(errs, FieldError{"expires_at", "required (RFC 3339), or expires_in_days"})
	case !req.ExpiresAt.After(now):
		errs = append(errs, FieldError{"expires_at", "must be in the future"})
	case req.ExpiresAt.After(now.Add(MaxAnnotatedCopyValidity)):
		errs = append(errs, FieldError{"expires_at", "at most 90 days ahead"})
	}
	if req.RelyingDepartment == "" {
		errs = append(errs, FieldError{"relying_department", "required"})
	} else if !store.ValidDepartmentCode(req.RelyingDepartment) {
		errs = append(errs, FieldError{"relying_department", "unknown department"})
	} else if _, err := s.store.Department(ctx, req.RelyingDepartment); errors.Is(err, store.ErrNotFound) {
		errs = append(errs, FieldError{"relying_department", "unknown department"})
	} else if err != nil {
		return AnnotatedCopy{}, err
	}
	if len(errs) > 0 {
		return AnnotatedCopy{}, &ValidationError{Errors: errs}
	}
	sg, err := s.usableSigner(ctx, l, now)
	if err != nil {
		return AnnotatedCopy{}, err
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	exp := req.ExpiresAt.Truncate(time.Second)
	var signed format.Signed
	err = s.sign("annotated_copy", func() (err error) {
		signed, err = format.SignAnnotatedCopy(sg.key, format.AnnotatedCopy{
			Credential: l.Credential, Relying: req.RelyingDepartment, Purpose: purpose,
			IssuedAt: now.Unix(), Expires: exp.Unix(), Nonce: nonce,
		})
		return err
	})
	if err != nil {
		return AnnotatedCopy{}, err
	}
	if err := s.confirmPresented(ctx, sg, l.ID); err != nil {
		return AnnotatedCopy{}, err
	}
	detail, _ := json.Marshal(map[string]any{"issuer": l.DepartmentCode, "relying": req.RelyingDepartment, "purpose": purpose, "expires": exp.UTC()})
	if _, err := s.store.AppendAudit(ctx, store.AuditEvent{Actor: actor, Action: "licence.annotated_copy", Subject: l.ID, Detail: detail}); err != nil {
		return AnnotatedCopy{}, err
	}
	return AnnotatedCopy{
		QRText: format.QRText(format.KindAnnotatedCopy, signed), RelyingDepartment: req.RelyingDepartment,
		Purpose: purpose, ExpiresAt: exp.UTC(),
	}, nil
}
