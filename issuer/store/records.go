package store

import (
	"time"

	"elicence/format"
)

// Department is an issuing department (发证部门).
type Department struct {
	// Code identifies the department: 1 to 32 upper-case ASCII letters or
	// digits. It appears in licence identifiers and in the trust list.
	Code string
	// Name is the department's display name, e.g. "某市市场监督管理局".
	Name string
	// CreatedAt is set by the store.
	CreatedAt time.Time
}

// KeyState is the state of a department signing key, as the trust list
// publishes it.
type KeyState string

// Key states.
const (
	// KeyActive marks the one key a department signs with.
	KeyActive KeyState = "active"
	// KeyRetired marks a key no longer used for signing; what it signed
	// stays valid. Its private half is destroyed.
	KeyRetired KeyState = "retired"
	// KeyCompromised marks a key whose signatures made at or after
	// CompromisedSince must be rejected. It is final.
	KeyCompromised KeyState = "compromised"
)

// SigningKey is one SM2 signing key of a department. A department has any
// number of keys, at most one of them active.
type SigningKey struct {
	// ID is the key ID: 16 lower-case hex characters derived from the SM3
	// hash of PublicKey. It is unique within the department.
	ID string
	// DepartmentCode is the owning department.
	DepartmentCode string
	// PublicKey is the SubjectPublicKeyInfo DER.
	PublicKey []byte
	// PrivateKeyPEM is the encrypted PKCS#8 PEM of the private key. The
	// store keeps it as opaque bytes, and only while the key is active: it
	// is destroyed (set to NULL) in the transaction that retires the key or
	// marks it compromised, and is nil for every key that is not active.
	PrivateKeyPEM []byte
	// Certificate is the key's X.509 certificate, DER. May be empty.
	Certificate []byte
	// State is the key's state.
	State KeyState
	// CompromisedSince is the time from which the key is untrusted; zero
	// unless State is KeyCompromised.
	CompromisedSince time.Time
	// CreatedAt is set by the store.
	CreatedAt time.Time
	// RetiredAt is when the key stopped being active (retired by a
	// rotation or by SetSigningKeyState, or marked compromised while
	// active), set by the store in that transaction; zero while active.
	RetiredAt time.Time
}

// Scope is a permission carried by an API token.
type Scope string

// Token scopes.
const (
	ScopeIssue    Scope = "issue"
	ScopeRevoke   Scope = "revoke"
	ScopeRead     Scope = "read"
	ScopeOperator Scope = "operator"
)

// Token is an API token. The store holds only the SM3 hash of its secret.
type Token struct {
	// ID is the token's public identifier (1 to 64 ASCII letters, digits,
	// '-' or '_'); it names the actor in the audit log.
	ID string
	// DepartmentCode is the department the token acts for; empty for an
	// operator token.
	DepartmentCode string
	// SecretHash is the SM3 hash (32 bytes) of the token secret. It is
	// unique across tokens.
	SecretHash []byte
	// Scopes is the set of permissions, returned sorted. An operator token
	// (empty DepartmentCode) must hold ScopeOperator; a department token
	// must not.
	Scopes []Scope
	// Name describes the token for people, e.g. "窗口系统".
	Name string
	// CreatedAt is set by the store.
	CreatedAt time.Time
	// RevokedAt is zero while the token is usable; set by the store.
	RevokedAt time.Time
}

// Revoked reports whether the token has been revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// HasScope reports whether the token carries scope s.
func (t Token) HasScope(s Scope) bool {
	for _, x := range t.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// LicenceType is a kind of licence, e.g. a business licence.
type LicenceType struct {
	// Code identifies the type: 1 to 64 ASCII letters, digits, '-' or '_'.
	Code string
	// Name is the type's display name, e.g. "营业执照".
	Name string
	// Authority is the authority that defines the type.
	Authority string
	// FieldDefinitions describes the type's fields as JSON; the store keeps
	// the bytes exactly as given.
	FieldDefinitions []byte
	// DefaultValidityDays is the default validity period; 0 means no expiry.
	DefaultValidityDays int
	// CreatedAt is set by the store.
	CreatedAt time.Time
}

// Status is a licence status: the status list's own enum (format.Status),
// so that what the store keeps and what a list encodes are one type.
type Status = format.Status

// Licence statuses.
const (
	StatusValid     = format.StatusValid
	StatusRevoked   = format.StatusRevoked
	StatusSuspended = format.StatusSuspended
)

// ReasonSuperseded is the revocation reason recorded on a licence replaced
// by a new version.
const ReasonSuperseded = "superseded"

// Licence is an issued licence (电子证照), one version of it.
type Licence struct {
	// ID is the licence identifier (证照标识), unique in the store.
	ID string
	// DepartmentCode is the issuing department.
	DepartmentCode string
	// TypeCode is the licence type.
	TypeCode string
	// Serial is allocated by the store, unique per (department, type) and
	// shared by all versions of a licence.
	Serial int64
	// Version counts from 1; a re-issue increments it.
	Version int
	// HolderName is the holder's name.
	HolderName string
	// HolderKind says what HolderCode is, e.g. a citizen ID number or a
	// unified social credit code.
	HolderKind string
	// HolderCode is the holder's full identifier. It is stored only here;
	// credentials carry it masked.
	HolderCode string
	// Fields holds the licence's type-specific fields as JSON; the store
	// keeps the bytes exactly as given.
	Fields []byte
	// ValidFrom is the start of validity.
	ValidFrom time.Time
	// ValidUntil is the end of validity; zero means no expiry (长期有效).
	ValidUntil time.Time
	// IssuedAt is the issue time signed into the credential.
	IssuedAt time.Time
	// Status is the current status. A licence is stored as StatusValid and
	// changes only through UpdateStatus and ReissueLicence.
	Status Status
	// StatusListID and StatusIndex are the licence's status-list slot,
	// allocated by the store.
	StatusListID string
	StatusIndex  int
	// Credential is the signed, encoded credential.
	Credential []byte
	// RecordDigest is the SM3 digest of the full licence record that the
	// credential binds.
	RecordDigest []byte
	// Record is the full licence record whose digest the credential binds,
	// salt included, as the issuer encoded it (format.Record). The store
	// keeps the bytes exactly as given; it may be empty.
	Record []byte
	// Supersedes is the ID of the previous version; empty for version 1.
	Supersedes string
	// StatusReason is the reason code given with the current status when it
	// is revoked or suspended ("superseded" for a replaced version); empty
	// while valid.
	StatusReason string
	// StatusChangedAt is the time of the last status change (for a revoked
	// licence, the revocation time); zero if never changed. Set by the store.
	StatusChangedAt time.Time
	// UpdatedAt is the time of the last change; set by the store.
	UpdatedAt time.Time
}

// StatusList describes one status list of a department.
type StatusList struct {
	// ID names the list: "<department code>-<seq>".
	ID string
	// DepartmentCode is the owning department.
	DepartmentCode string
	// Seq numbers the department's lists from 1; the highest is current.
	Seq int
	// Size is the number of entries; indices run from 0 to Size-1.
	Size int
	// Allocated counts the entries handed out, including ones reserved by
	// transactions that then failed. It never exceeds Size/2.
	Allocated int
	// Revision grows by one with every status change of an entry of the
	// list, and only then. Use it as the ETag of the signed list.
	Revision int64
	// CreatedAt is set by the store.
	CreatedAt time.Time
	// UpdatedAt is the time of the last status change (CreatedAt if none).
	// It never goes backwards.
	UpdatedAt time.Time
}

// StatusEntry is one non-valid entry of a status list.
type StatusEntry struct {
	Index  int
	Status Status
	// Reason is the licence's status reason code; ChangedAt when its
	// status last changed (zero if the store has no time for it).
	Reason    string
	ChangedAt time.Time
}

// AuditEvent is what a caller asks the store to record in the audit log.
type AuditEvent struct {
	// Actor is the token ID, or "operator".
	Actor string
	// Action names what happened, e.g. "licence.issue", "licence.revoke".
	Action string
	// Subject names what it happened to, e.g. a licence identifier.
	Subject string
	// Detail is optional JSON; the store keeps the bytes exactly as given.
	Detail []byte
}

// AuditEntry is a recorded audit event, a link of the audit chain.
type AuditEntry struct {
	// Seq numbers entries from 1 without gaps.
	Seq int64
	// Time is set by the store when the entry is appended.
	Time    time.Time
	Actor   string
	Action  string
	Subject string
	Detail  []byte
	// PrevHash is the Hash of entry Seq-1, or 32 zero bytes for entry 1.
	PrevHash []byte
	// Hash is AuditHash(PrevHash, entry).
	Hash []byte
}
