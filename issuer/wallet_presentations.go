package issuer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"elicence/format"
	"elicence/issuer/store"
)

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
func (s *Wallet) usableSigner(ctx context.Context, l store.Licence, now time.Time) (*signer, error) {
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
func (s *Wallet) confirmPresented(ctx context.Context, sg *signer, id string) error {
	err := s.confirmActive(ctx, sg)
	if errors.Is(err, errKeyChanged) {
		return oldKeyProblem(id)
	}
	return err
}

// Present signs a dynamic presentation QR for p's department's licence
// id. It signs with the department's key, so it needs scope issue; it is
// audited (ActionPresentation, actor the token).
func (s *Wallet) Present(ctx context.Context, p *Principal, id string) (Presentation, error) {
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
func (s *Wallet) WalletPresent(ctx context.Context, h *Holder, id string) (Presentation, error) {
	l, err := s.walletLicence(ctx, h, id)
	if err != nil {
		return Presentation{}, err
	}
	return s.present(ctx, l, h.actor(), h.auditDetail(map[string]any{}))
}

func (s *Wallet) present(ctx context.Context, l store.Licence, actor string, detail map[string]any) (Presentation, error) {
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
		QRText: s.qrText(format.KindPresentation, signed), NotBefore: nb.UTC(), ExpiresAt: exp.UTC(),
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
func (s *Wallet) Annotate(ctx context.Context, p *Principal, id string, req AnnotationRequest) (AnnotatedCopy, error) {
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
func (s *Wallet) WalletAnnotate(ctx context.Context, h *Holder, id string, req AnnotationRequest) (AnnotatedCopy, error) {
	l, err := s.walletLicence(ctx, h, id)
	if err != nil {
		return AnnotatedCopy{}, err
	}
	return s.annotate(ctx, l, req, h.actor(), h.auditDetail(map[string]any{}))
}

func (s *Wallet) annotate(ctx context.Context, l store.Licence, req AnnotationRequest, actor string, detail map[string]any) (AnnotatedCopy, error) {
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
		QRText: s.qrText(format.KindAnnotatedCopy, signed), RelyingDepartment: req.RelyingDepartment,
		Purpose: purpose, ExpiresAt: exp.UTC(),
	}, nil
}
