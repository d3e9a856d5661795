package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"elicence/format"
	"elicence/identifier"
	"elicence/issuer/store"
)

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Audit actions of the wallet. Presentations and annotated copies are
// audited whoever asks for them: a department token (the actor is its ID)
// or a wallet session (the actor is WalletActor of the session, and the
// detail names the link, department and token that opened it).
const (
	ActionHolderLink    = "holder_link.create"
	ActionWalletSession = "wallet.session"
	ActionWalletRefresh = "wallet.refresh"
	ActionWalletSignOut = "wallet.signout"
	ActionIdentityLink  = "wallet.identity_link"
	ActionPresentation  = "licence.presentation"
	ActionAnnotatedCopy = "licence.annotated_copy"
)

// WalletVia values say how a wallet session's holder was identified.
const (
	// WalletViaLink is a one-time link made by a department.
	WalletViaLink = "link"
	// WalletViaOIDC is a sign-in through the identity provider (OpenID
	// Connect), which proves the holder without any department.
	WalletViaOIDC = "oidc"
)

// WalletScope is what a wallet session reaches, fixed when it opens and
// checked by every wallet action: the holder's licences issued by the
// departments in Departments, and nothing else (an empty list reaches
// nothing). A session opened by a department's one-time link reaches that
// department's licences only: a department can make a link for any holder
// it has issued to, so a link must not reach what it did not issue. A
// sign-in that proves the holder without a department (the province's
// identity provider) is what may open a wider session; it will say so here
// with its own Via.
type WalletScope struct {
	// Departments are the issuing departments whose licences the session
	// reaches.
	Departments []string
	// AllDepartments reaches the holder's licences of every department; only
	// a sign-in through the identity provider (WalletViaOIDC) sets it.
	AllDepartments bool
	// Via says how the holder was identified: WalletViaLink or
	// WalletViaOIDC.
	Via string
	// LinkID names the one-time link that opened the session; LinkDepartment
	// and LinkToken are the department and the API token that made it
	// (empty for an identity provider's sign-in).
	LinkID, LinkDepartment, LinkToken string
	// Subject names the identity provider's user: its issuer URL, "#" and
	// the subject claim.
	Subject string
}

// Reaches reports whether the scope reaches licences issued by dept.
func (sc WalletScope) Reaches(dept string) bool {
	return dept != "" && (sc.AllDepartments || slices.Contains(sc.Departments, dept))
}

func (sc WalletScope) grant(h Holder) store.WalletGrant {
	return store.WalletGrant{
		HolderCode: h.Code, HolderName: h.Name, Departments: slices.Clone(sc.Departments), AllDepartments: sc.AllDepartments,
		Via: sc.Via, LinkID: sc.LinkID, LinkDepartment: sc.LinkDepartment, LinkToken: sc.LinkToken, Subject: sc.Subject,
	}
}

func holderOfGrant(id string, g store.WalletGrant) Holder {
	return Holder{Code: g.HolderCode, Name: g.HolderName, SessionID: id, Scope: WalletScope{
		Departments: slices.Clone(g.Departments), AllDepartments: g.AllDepartments, Via: g.Via,
		LinkID: g.LinkID, LinkDepartment: g.LinkDepartment, LinkToken: g.LinkToken, Subject: g.Subject,
	}}
}

// HolderLink is a one-time wallet login link.
type HolderLink struct {
	// URL is the wallet page path with the login token in the fragment.
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateHolderLink makes a one-time link with which the holder of
// holderID logs in to the wallet page. Only a department token with scope
// issue may make one, only for a holder of one of its licences, and the
// session it opens reaches only that department's licences. The link is
// audited (ActionHolderLink, actor the token, subject the department).
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
	h := Holder{Code: holderID, Name: ls[0].HolderName, Scope: WalletScope{
		Departments: []string{p.Department}, Via: WalletViaLink,
		LinkID: randomID("hl_"), LinkDepartment: p.Department, LinkToken: p.TokenID,
	}}
	detail, _ := json.Marshal(map[string]any{
		"issuer": p.Department, "link": h.Scope.LinkID, "holder": maskedHolderOf(ls[0]), "expires": exp.UTC(),
	})
	link := store.WalletLink{ID: h.Scope.LinkID, SecretHash: HashToken(token), Grant: h.Scope.grant(h), ExpiresAt: exp}
	if _, err := s.store.CreateWalletLink(ctx, link, store.AuditEvent{Actor: p.TokenID, Action: ActionHolderLink, Subject: p.Department, Detail: detail}); err != nil {
		return HolderLink{}, err
	}
	return HolderLink{URL: "/wallet#login=" + token, ExpiresAt: exp.UTC()}, nil
}

// maskedHolderOf returns l's holder code as it may be shown.
func maskedHolderOf(l store.Licence) string {
	return identifier.MaskHolder(HolderKind(l.HolderKind).Identifier(), l.HolderCode)
}

// WalletSession is a holder's wallet session.
type WalletSession struct {
	Session    string    `json:"session"`
	HolderName string    `json:"holder_name"`
	ExpiresAt  time.Time `json:"expires_at"`
	// Departments are the issuing departments whose licences the session
	// reaches; AllDepartments says it reaches every department's.
	Departments    []string `json:"departments"`
	AllDepartments bool     `json:"all_departments"`
	// Via says how the holder was identified: "link" or "oidc".
	Via string `json:"via"`
}

// StartWalletSession exchanges a one-time login token for a session; a
// token works once, on any issuer process. The session has the scope of
// its link, and its start is audited (ActionWalletSession, actor
// WalletActor of the session).
func (s *Service) StartWalletSession(ctx context.Context, loginToken string) (WalletSession, error) {
	now := s.now()
	if loginToken == "" || len(loginToken) > MaxTokenLength {
		return WalletSession{}, problem(ErrUnauthenticated, "invalid or used login token")
	}
	secret := randomSecret()
	id := randomID("ws_")
	exp := now.Add(s.cfg.WalletSessionTTL)
	ws, err := s.store.RedeemWalletLink(ctx, HashToken(loginToken), now, func(l store.WalletLink) (store.WalletSession, store.AuditEvent, error) {
		h := holderOfGrant(id, l.Grant)
		subject := h.Scope.LinkDepartment
		if subject == "" {
			subject = h.Scope.Via
		}
		detail, _ := json.Marshal(h.auditDetail(map[string]any{"issuer": h.Scope.LinkDepartment, "expires": exp.UTC()}))
		return store.WalletSession{ID: id, SecretHash: HashToken(secret), Grant: l.Grant, ExpiresAt: exp},
			store.AuditEvent{Actor: h.actor(), Action: ActionWalletSession, Subject: subject, Detail: detail}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return WalletSession{}, problem(ErrUnauthenticated, "invalid, expired or used login token")
	}
	if err != nil {
		return WalletSession{}, err
	}
	return sessionJSON(secret, ws), nil
}

func sessionJSON(secret string, ws store.WalletSession) WalletSession {
	return WalletSession{
		Session: secret, HolderName: ws.Grant.HolderName, ExpiresAt: ws.ExpiresAt.UTC(),
		Departments: slices.Clone(ws.Grant.Departments), AllDepartments: ws.Grant.AllDepartments, Via: ws.Grant.Via,
	}
}

// RefreshWalletSession replaces the session's secret by a new one and
// extends it by Config.WalletSessionTTL from now; the old secret stops
// working. It is audited (ActionWalletRefresh).
func (s *Service) RefreshWalletSession(ctx context.Context, session string) (WalletSession, error) {
	h, err := s.WalletHolder(ctx, session)
	if err != nil {
		return WalletSession{}, err
	}
	now := s.now()
	secret := randomSecret()
	exp := now.Add(s.cfg.WalletSessionTTL)
	detail, _ := json.Marshal(h.auditDetail(map[string]any{"expires": exp.UTC()}))
	ws, err := s.store.RefreshWalletSession(ctx, h.SessionID, HashToken(session), HashToken(secret), exp,
		store.AuditEvent{Actor: h.actor(), Action: ActionWalletRefresh, Subject: h.SessionID, Detail: detail})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidTransition) {
		return WalletSession{}, problem(ErrUnauthenticated, "invalid or expired wallet session")
	}
	if err != nil {
		return WalletSession{}, err
	}
	return sessionJSON(secret, ws), nil
}

// SignOutWallet ends the session on every issuer process; it is audited
// (ActionWalletSignOut).
func (s *Service) SignOutWallet(ctx context.Context, session string) error {
	h, err := s.WalletHolder(ctx, session)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(h.auditDetail(map[string]any{}))
	_, err = s.store.RevokeWalletSession(ctx, h.SessionID,
		store.AuditEvent{Actor: h.actor(), Action: ActionWalletSignOut, Subject: h.SessionID, Detail: detail})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidTransition) {
		return problem(ErrUnauthenticated, "invalid or expired wallet session")
	}
	return err
}

// Identity is a holder as the identity provider asserted them in a
// verified ID token.
type Identity struct {
	// Issuer and Subject are the ID token's iss and sub.
	Issuer, Subject string
	// HolderID is the citizen ID number or credit code claim.
	HolderID string
	// Name is the holder's name claim, if any.
	Name string
}

// CreateIdentityLink makes the one-time link with which the wallet page
// opens a session for a holder the identity provider has just signed in.
// The session reaches the holder's licences of every department. It
// refuses a holder ID that is not a valid citizen ID number or unified
// social credit code. It is audited (ActionIdentityLink, actor "oidc").
func (s *Service) CreateIdentityLink(ctx context.Context, id Identity) (HolderLink, error) {
	now := s.now()
	if identifier.ValidateCitizenID(id.HolderID, now) != nil && identifier.ValidateUSCC(id.HolderID) != nil {
		return HolderLink{}, problem(ErrUnauthenticated, "the identity provider asserted no valid citizen ID number or unified social credit code")
	}
	name := strings.TrimSpace(id.Name)
	if len(name) > 256 {
		name = ""
	}
	token := randomSecret()
	exp := now.Add(s.cfg.IdentityLinkTTL)
	linkID := randomID("il_")
	subject := id.Issuer + "#" + id.Subject
	if len(subject) > 512 {
		return HolderLink{}, problem(ErrUnauthenticated, "the identity provider's subject is too long")
	}
	h := Holder{Code: id.HolderID, Name: name, Scope: WalletScope{AllDepartments: true, Via: WalletViaOIDC, LinkID: linkID, Subject: subject}}
	detail, _ := json.Marshal(map[string]any{
		"link": linkID, "subject": subject, "holder": maskedHolderCode(id.HolderID), "expires": exp.UTC(),
	})
	link := store.WalletLink{ID: linkID, SecretHash: HashToken(token), Grant: h.Scope.grant(h), ExpiresAt: exp}
	if _, err := s.store.CreateWalletLink(ctx, link, store.AuditEvent{Actor: "oidc", Action: ActionIdentityLink, Subject: WalletViaOIDC, Detail: detail}); err != nil {
		return HolderLink{}, err
	}
	return HolderLink{URL: "/wallet#login=" + token, ExpiresAt: exp.UTC()}, nil
}

// maskedHolderCode masks a citizen ID number or credit code for logs.
func maskedHolderCode(code string) string {
	kind := HolderCitizen
	if identifier.ValidateUSCC(code) == nil {
		kind = HolderOrg
	}
	return identifier.MaskHolder(kind.Identifier(), code)
}

// Holder is a wallet session: the holder it is for, what it reaches, and
// its ID.
type Holder struct {
	// Code is the holder's full citizen ID number or credit code; it stays
	// on the server.
	Code string
	Name string
	// SessionID names the session in the audit log and to the rate
	// limiter; it is not the session secret.
	SessionID string
	// Scope is what the session reaches and what opened it.
	Scope WalletScope
}

// WalletActor is the audit actor of a wallet session's actions.
func WalletActor(sessionID string) string { return "wallet:" + sessionID }

func (h *Holder) actor() string { return WalletActor(h.SessionID) }

// auditDetail adds to m what names the session and what opened it.
func (h *Holder) auditDetail(m map[string]any) map[string]any {
	m["session"] = h.SessionID
	m["via"] = h.Scope.Via
	m["link"] = h.Scope.LinkID
	m["link_department"] = h.Scope.LinkDepartment
	m["link_token"] = h.Scope.LinkToken
	if h.Scope.Subject != "" {
		m["subject"] = h.Scope.Subject
	}
	return m
}

// WalletHolder returns the wallet session of a session token, read from
// the store, so that any issuer process knows it.
func (s *Service) WalletHolder(ctx context.Context, session string) (*Holder, error) {
	if session == "" || len(session) > MaxTokenLength {
		return nil, problem(ErrUnauthenticated, "a wallet session is required")
	}
	ws, err := s.store.WalletSessionByHash(ctx, HashToken(session))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !ws.Usable(s.now())) {
		return nil, problem(ErrUnauthenticated, "invalid or expired wallet session")
	}
	if err != nil {
		return nil, err
	}
	h := holderOfGrant(ws.ID, ws.Grant)
	return &h, nil
}

// WalletLicences returns the holder's licences from the departments the
// session reaches, newest first per department, each in its newest version
// only (a re-issued licence shows as its new version, not the one it
// superseded).
func (s *Service) WalletLicences(ctx context.Context, h *Holder) ([]store.Licence, error) {
	if h == nil {
		return nil, problem(ErrUnauthenticated, "a wallet session is required")
	}
	var out []store.Licence
	depts := h.Scope.Departments
	if h.Scope.AllDepartments {
		all, err := s.store.ListDepartments(ctx)
		if err != nil {
			return nil, err
		}
		depts = nil
		for _, d := range all {
			depts = append(depts, d.Code)
		}
	}
	for _, d := range depts {
		q := store.LicenceQuery{DepartmentCode: d, HolderCode: h.Code, Limit: store.MaxPageSize}
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

// walletLicence returns the holder's licence id if the session reaches
// it; any other is store.ErrNotFound, like one that does not exist.
func (s *Service) walletLicence(ctx context.Context, h *Holder, id string) (store.Licence, error) {
	if h == nil {
		return store.Licence{}, problem(ErrUnauthenticated, "a wallet session is required")
	}
	lid, err := identifier.ParseLicenceID(id)
	if err != nil || !h.Scope.Reaches(lid.IssuerCode) {
		return store.Licence{}, problem(store.ErrNotFound, "no licence %q", id)
	}
	l, err := s.store.Licence(ctx, lid.IssuerCode, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (l.HolderCode != h.Code || !h.Scope.Reaches(l.DepartmentCode))) {
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
	active, err := s.activeSigner(ctx, l.DepartmentCode)
	var pb *Problem
	if errors.As(err, &pb) && errors.Is(err, ErrUnavailable) {
		return nil, oldKeyProblem(l.ID)
	}
	if err != nil {
		return nil, err
	}
	if ok, err := signedByKey(l.Credential, active.id); err != nil {
		return nil, fmt.Errorf("stored credential of %s: %w", l.ID, err)
	} else if !ok {
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

// Present signs a dynamic presentation QR for p's department's licence
// id. It signs with the department's key, so it needs scope issue; it is
// audited (ActionPresentation, actor the token).
func (s *Service) Present(ctx context.Context, p *Principal, id string) (Presentation, error) {
	if err := requireDept(p, store.ScopeIssue); err != nil {
		return Presentation{}, err
	}
	l, err := s.ownLicence(ctx, p, id)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, l, p.TokenID, map[string]any{})
}

// WalletPresent signs a dynamic presentation QR for the holder's licence,
// if the session reaches it; it is audited (ActionPresentation, actor
// WalletActor, with what opened the session).
func (s *Service) WalletPresent(ctx context.Context, h *Holder, id string) (Presentation, error) {
	l, err := s.walletLicence(ctx, h, id)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, l, h.actor(), h.auditDetail(map[string]any{}))
}

func (s *Service) present(ctx context.Context, l store.Licence, actor string, detail map[string]any) (Presentation, error) {
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
	detail["issuer"], detail["nonce"], detail["expires"] = l.DepartmentCode, hex.EncodeToString(nonce), exp.UTC()
	d, _ := json.Marshal(detail)
	if _, err := s.store.AppendAudit(ctx, store.AuditEvent{Actor: actor, Action: ActionPresentation, Subject: l.ID, Detail: d}); err != nil {
		return Presentation{}, err
	}
	return Presentation{
		QRText: s.QRText(format.KindPresentation, signed), NotBefore: nb.UTC(), ExpiresAt: exp.UTC(),
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

// Annotate signs an annotated copy of p's department's licence id. It
// signs with the department's key, so it needs scope issue; it is audited
// (ActionAnnotatedCopy, actor the token).
func (s *Service) Annotate(ctx context.Context, p *Principal, id string, req AnnotationRequest) (AnnotatedCopy, error) {
	if err := requireDept(p, store.ScopeIssue); err != nil {
		return AnnotatedCopy{}, err
	}
	l, err := s.ownLicence(ctx, p, id)
	if err != nil {
		return AnnotatedCopy{}, err
	}
	return s.annotate(ctx, l, req, p.TokenID, map[string]any{})
}

// WalletAnnotate signs an annotated copy of the holder's licence, if the
// session reaches it; it is audited (ActionAnnotatedCopy, actor
// WalletActor, with what opened the session).
func (s *Service) WalletAnnotate(ctx context.Context, h *Holder, id string, req AnnotationRequest) (AnnotatedCopy, error) {
	l, err := s.walletLicence(ctx, h, id)
	if err != nil {
		return AnnotatedCopy{}, err
	}
	return s.annotate(ctx, l, req, h.actor(), h.auditDetail(map[string]any{}))
}

func (s *Service) annotate(ctx context.Context, l store.Licence, req AnnotationRequest, actor string, detail map[string]any) (AnnotatedCopy, error) {
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
	detail["issuer"], detail["relying"], detail["purpose"], detail["expires"] = l.DepartmentCode, req.RelyingDepartment, purpose, exp.UTC()
	detail["nonce"] = hex.EncodeToString(nonce)
	d, _ := json.Marshal(detail)
	if _, err := s.store.AppendAudit(ctx, store.AuditEvent{Actor: actor, Action: ActionAnnotatedCopy, Subject: l.ID, Detail: d}); err != nil {
		return AnnotatedCopy{}, err
	}
	return AnnotatedCopy{
		QRText: s.QRText(format.KindAnnotatedCopy, signed), RelyingDepartment: req.RelyingDepartment,
		Purpose: purpose, ExpiresAt: exp.UTC(),
	}, nil
}
