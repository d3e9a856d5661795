package store

import (
	"context"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// WalletStore holds holders' one-time wallet links and wallet sessions, so
// that they survive restarts and work on every issuer process sharing the
// database. Only the SM3 hash of each secret is stored.
type WalletStore interface {
	// CreateWalletLink stores a one-time link. It returns ErrDuplicate if
	// the ID or the secret hash is taken.
	CreateWalletLink(ctx context.Context, l WalletLink, audit AuditEvent) (WalletLink, error)
	// RedeemWalletLink uses up the link whose SecretHash is hash, if it is
	// unused and expires after now, and stores the session that build
	// returns for it, in one transaction: of two concurrent redemptions
	// one wins. It returns ErrNotFound for an unknown, used or expired
	// link, and errors from build wrapped.
	RedeemWalletLink(ctx context.Context, hash []byte, now time.Time, build func(WalletLink) (WalletSession, AuditEvent, error)) (WalletSession, error)
	// WalletSessionByHash returns the session whose SecretHash is hash, or
	// ErrNotFound. It returns expired and revoked sessions too: check
	// WalletSession.Usable.
	WalletSessionByHash(ctx context.Context, hash []byte) (WalletSession, error)
	// RefreshWalletSession replaces the secret of session id, whose current
	// secret hash must be oldHash, by newHash and sets its expiry. It
	// returns ErrNotFound if the session does not exist or its secret is
	// no longer oldHash (a concurrent refresh won), and
	// ErrInvalidTransition if it is revoked.
	RefreshWalletSession(ctx context.Context, id string, oldHash, newHash []byte, expires time.Time, audit AuditEvent) (WalletSession, error)
	// RevokeWalletSession ends session id (sign-out). It returns
	// ErrNotFound for an unknown ID and ErrInvalidTransition if it is
	// already revoked.
	RevokeWalletSession(ctx context.Context, id string, audit AuditEvent) (WalletSession, error)
}

// WalletGrant is what a wallet link or session gives: whose licences, from
// which departments, and what identified the holder.
type WalletGrant struct {
	// HolderCode is the holder's full citizen ID number or credit code.
	HolderCode string
	HolderName string
	// Departments are the issuing departments reached; AllDepartments
	// reaches every department, for a sign-in that proves the holder
	// without any department (OpenID Connect).
	Departments    []string
	AllDepartments bool
	// Via says how the holder was identified ("link", "oidc").
	Via string
	// LinkID, LinkDepartment and LinkToken name a department's link and
	// the department and API token that made it.
	LinkID, LinkDepartment, LinkToken string
	// Subject names the identity provider's user ("issuer URL#sub").
	Subject string
}

// WalletLink is a one-time link; its secret is known only by its hash.
type WalletLink struct {
	ID         string
	SecretHash []byte
	Grant      WalletGrant
	CreatedAt  time.Time // set by the store
	ExpiresAt  time.Time
	UsedAt     time.Time // set by RedeemWalletLink
}

// WalletSession is a holder's session; its secret is known only by its
// hash.
type WalletSession struct {
	ID          string
	SecretHash  []byte
	Grant       WalletGrant
	CreatedAt   time.Time // set by the store
	RefreshedAt time.Time // set by the store
	ExpiresAt   time.Time
	RevokedAt   time.Time
}

// Usable reports whether the session may be used at now.
func (s WalletSession) Usable(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// Validate checks g's fields.
func (g WalletGrant) Validate() error {
	if g.HolderCode == "" || len(g.HolderCode) > 64 || strings.ContainsAny(g.HolderCode, " \t\n") {
		return invalidf("wallet grant: holder code")
	}
	if len(g.HolderName) > 256 {
		return invalidf("wallet grant: holder name longer than 256 bytes")
	}
	for _, d := range g.Departments {
		if !ValidDepartmentCode(d) {
			return invalidf("wallet grant: department code %q", d)
		}
	}
	if !validName(g.Via, 16) {
		return invalidf("wallet grant: via %q", g.Via)
	}
	if len(g.Subject) > 512 || len(g.LinkID) > 64 || len(g.LinkToken) > 64 {
		return invalidf("wallet grant: subject or link too long")
	}
	return nil
}

// Validate checks l's fields for CreateWalletLink.
func (l WalletLink) Validate() error {
	if !validName(l.ID, 64) {
		return invalidf("wallet link ID %q", l.ID)
	}
	if len(l.SecretHash) != sm3.Size {
		return invalidf("wallet link %s: secret hash is %d bytes, want %d", l.ID, len(l.SecretHash), sm3.Size)
	}
	if l.ExpiresAt.IsZero() {
		return invalidf("wallet link %s: no expiry", l.ID)
	}
	return l.Grant.Validate()
}

// Validate checks s's fields for RedeemWalletLink.
func (s WalletSession) Validate() error {
	if !validName(s.ID, 64) {
		return invalidf("wallet session ID %q", s.ID)
	}
	if len(s.SecretHash) != sm3.Size {
		return invalidf("wallet session %s: secret hash is %d bytes, want %d", s.ID, len(s.SecretHash), sm3.Size)
	}
	if s.ExpiresAt.IsZero() {
		return invalidf("wallet session %s: no expiry", s.ID)
	}
	return s.Grant.Validate()
}

// JoinCodes joins department codes for storage, space-separated.
func JoinCodes(codes []string) string { return strings.Join(codes, " ") }

// SplitCodes is the inverse of JoinCodes.
func SplitCodes(s string) []string { return strings.Fields(s) }
