package store

import (
	"context"
	"time"
)

// Store is the issuer's storage. Implementations are safe for concurrent
// use; the PostgreSQL one also across processes sharing a database.
//
// Every method that changes state takes the AuditEvent describing the
// change and appends it to the audit chain in the same transaction.
type Store interface {
	DepartmentStore
	KeyStore
	TokenStore
	LicenceTypeStore
	LicenceStore
	DocumentStore
	StatusListStore
	AuditStore
	WalletStore
	LogStore

	// Ping reports whether the database is reachable, for readiness checks.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// DepartmentStore holds departments.
type DepartmentStore interface {
	// CreateDepartment stores d. It returns ErrDuplicate if the code is taken.
	CreateDepartment(ctx context.Context, d Department, audit AuditEvent) (Department, error)
	// Department returns the department with the code, or ErrNotFound.
	Department(ctx context.Context, code string) (Department, error)
	// ListDepartments returns all departments ordered by code.
	ListDepartments(ctx context.Context) ([]Department, error)
}

// KeyStore holds department signing keys.
type KeyStore interface {
	// AddSigningKey stores k. If k.State is KeyActive, the department's
	// active key, if any, becomes KeyRetired in the same transaction: this
	// is how keys are rotated; its private key is destroyed and its
	// RetiredAt set to k's CreatedAt. A key added as KeyRetired is stored
	// without its private key. k.State must not be KeyCompromised. It
	// returns ErrNotFound for an unknown department, ErrDuplicate if the
	// department has a key with the same ID, and ErrConflict if a
	// concurrent rotation won.
	AddSigningKey(ctx context.Context, k SigningKey, audit AuditEvent) (SigningKey, error)
	// SigningKey returns a department's key by ID, or ErrNotFound.
	SigningKey(ctx context.Context, dept, id string) (SigningKey, error)
	// ActiveSigningKey returns the department's active key, or ErrNotFound.
	ActiveSigningKey(ctx context.Context, dept string) (SigningKey, error)
	// ListSigningKeys returns the department's keys, oldest first.
	ListSigningKeys(ctx context.Context, dept string) ([]SigningKey, error)
	// SetSigningKeyState changes a key's state. Allowed: active to retired;
	// active or retired to compromised, with since as CompromisedSince
	// (required). Anything else, including any change of a compromised key,
	// returns ErrInvalidTransition. The key's private half is destroyed in
	// the same transaction (no usable copy stays in the store) and
	// RetiredAt is set to the store's clock unless already set.
	SetSigningKeyState(ctx context.Context, dept, id string, state KeyState, since time.Time, audit AuditEvent) (SigningKey, error)
}

// TokenStore holds API tokens.
type TokenStore interface {
	// CreateToken stores t. It returns ErrDuplicate if the ID or the secret
	// hash is taken, ErrNotFound for an unknown department.
	CreateToken(ctx context.Context, t Token, audit AuditEvent) (Token, error)
	// TokenByHash returns the token whose SecretHash is hash, or
	// ErrNotFound. It returns revoked tokens too: check Token.Revoked.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// ListTokens returns the department's tokens (the operator tokens for
	// an empty dept), ordered by ID.
	ListTokens(ctx context.Context, dept string) ([]Token, error)
	// RevokeToken revokes the token. It returns ErrNotFound for an unknown
	// ID and ErrInvalidTransition if it is already revoked.
	RevokeToken(ctx context.Context, id string, audit AuditEvent) (Token, error)
}

// LicenceTypeStore holds licence types and which departments may issue them.
type LicenceTypeStore interface {
	// CreateLicenceType stores lt. It returns ErrDuplicate if the code is taken.
	CreateLicenceType(ctx context.Context, lt LicenceType, audit AuditEvent) (LicenceType, error)
	// LicenceType returns the type with the code, or ErrNotFound.
	LicenceType(ctx context.Context, code string) (LicenceType, error)
	// ListLicenceTypes returns all types ordered by code.
	ListLicenceTypes(ctx context.Context) ([]LicenceType, error)
	// Authorise lets the department issue the type. It returns ErrNotFound
	// if either is unknown and ErrDuplicate if already authorised.
	Authorise(ctx context.Context, dept, typeCode string, audit AuditEvent) error
	// Deauthorise withdraws an authorisation; licences already issued are
	// unaffected. It returns ErrNotFound if there is no such authorisation.
	Deauthorise(ctx context.Context, dept, typeCode string, audit AuditEvent) error
	// IsAuthorised reports whether the department may issue the type.
	IsAuthorised(ctx context.Context, dept, typeCode string) (bool, error)
	// ListDepartmentTypes returns the types the department may issue,
	// ordered by code.
	ListDepartmentTypes(ctx context.Context, dept string) ([]LicenceType, error)
}

// LicenceStore holds licences.
type LicenceStore interface {
	// IssueLicence issues one licence in one transaction: it allocates a
	// serial and a status-list slot, calls build with them, stores the
	// returned licence and appends the returned audit event.
	//
	// The licence must carry p.DepartmentCode, p.TypeCode and the
	// allocation's Serial, Version, StatusListID and StatusIndex, status
	// valid and no Supersedes; otherwise IssueLicence fails with ErrInvalid.
	// It returns ErrNotAuthorised if the department may not issue the type,
	// ErrDuplicate if the licence ID exists, and errors from build wrapped.
	//
	// build runs while the transaction holds a database connection: it
	// must not call the store (read what it needs, such as the signing key,
	// beforehand), and should be quick. It may run on another goroutine,
	// at the same time as the builds of concurrent calls (the PostgreSQL
	// store writes concurrent issuances together); IssueLicence returns
	// only after it has.
	//
	// With an idempotency key, a request whose key was seen before returns
	// the licence issued then (in its current state) without calling build
	// if p.RequestHash matches, and ErrIdempotencyMismatch otherwise.
	IssueLicence(ctx context.Context, p IssueParams, build func(Allocation) (Licence, AuditEvent, error)) (Licence, error)

	// IssueBatch issues n licences of one type in one transaction, all or
	// nothing. It allocates n serials and n slots, calls build(i, ...) for i
	// from 0 to n-1 in order, and appends the audit events in that order.
	// The rules of IssueLicence apply to each licence. p.IdempotencyKey
	// must be empty; instead p.RowKeys may give each licence a key of its
	// own (with p.RowHashes): a row whose key was recorded before, by an
	// earlier batch or issuance, is not issued again and build is not
	// called for it; the licence recorded then is returned in its place, or
	// the batch fails with ErrIdempotencyMismatch if its hash differs.
	// Serials, slots and builds are then for the other rows only, in order,
	// and their keys are recorded in the same transaction. It returns the
	// licences in row order.
	IssueBatch(ctx context.Context, p IssueParams, n int, build func(i int, a Allocation) (Licence, AuditEvent, error)) ([]Licence, error)

	// ReissueLicence replaces a valid licence by a new version in one
	// transaction: the new licence keeps the serial, has Version+1, a new
	// slot and Supersedes set to the old ID; the old one is revoked with
	// reason ReasonSuperseded. build receives the old licence and the
	// allocation; the audit event it returns records the re-issue. It
	// returns ErrNotFound if the old licence is not the department's and
	// ErrInvalidTransition if it is not valid. Idempotency keys work as in
	// IssueLicence.
	ReissueLicence(ctx context.Context, p ReissueParams, build func(old Licence, a Allocation) (Licence, AuditEvent, error)) (Licence, error)

	// ReissueBatch replaces many licences by new versions in one
	// transaction, all or nothing, as ReissueLicence replaces one, except
	// that a suspended licence is replaced too: its new version is
	// suspended with the same reason, so that the suspension carries over.
	// Licences that are not the department's, are revoked (already
	// superseded among them) or whose type the department may no longer
	// issue are skipped, not an error, so that running the same batch
	// twice replaces each licence once. build is called for each licence
	// replaced, in input order, with the old version locked; it must not
	// call the store. The results are in input order.
	ReissueBatch(ctx context.Context, p ReissueBatchParams, build func(old Licence, a Allocation) (Licence, AuditEvent, error)) ([]Reissued, error)

	// UpdateStatus changes a licence's status and its status-list entry.
	// Allowed: valid to suspended, suspended to valid (reinstate), valid or
	// suspended to revoked. Revocation is final. Any other change returns
	// ErrInvalidTransition; a licence of another department ErrNotFound.
	UpdateStatus(ctx context.Context, c StatusChange, audit AuditEvent) (Licence, error)

	// Licence returns the department's licence with the ID; ErrNotFound if
	// it does not exist or belongs to another department.
	Licence(ctx context.Context, dept, id string) (Licence, error)

	// ListLicences returns one page of a department's licences, newest
	// (IssuedAt, then ID, descending) first, and the cursor of the next
	// page, empty after the last page.
	ListLicences(ctx context.Context, q LicenceQuery) (page []Licence, next string, err error)
}

// StatusListStore reads status lists. Slots are allocated by issuance and
// entries change through UpdateStatus and ReissueLicence, never directly, so
// that a list always agrees with its licences.
type StatusListStore interface {
	// StatusList returns the list's metadata, or ErrNotFound.
	StatusList(ctx context.Context, id string) (StatusList, error)
	// StatusListEntries returns the list's metadata and its non-valid
	// entries ordered by index, read in one snapshot so that Revision
	// matches the entries.
	StatusListEntries(ctx context.Context, id string) (StatusList, []StatusEntry, error)
	// ListStatusLists returns the department's lists ordered by Seq.
	ListStatusLists(ctx context.Context, dept string) ([]StatusList, error)
}

// AuditStore reads and extends the audit chain. It has no way to change or
// remove an entry.
type AuditStore interface {
	// AppendAudit records an event that changes nothing else, e.g. a
	// document signature.
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEntry, error)
	// ListAudit returns up to limit entries with Seq > after, in order.
	ListAudit(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
	// AuditHead returns the sequence number of the last audit entry (0
	// when the log is empty), read from the chain's head row: sequence
	// numbers have no gaps, so it is also the number of entries.
	AuditHead(ctx context.Context) (int64, error)
	// VerifyChain checks the whole chain and its head. It returns (0, nil)
	// when the chain verifies. Otherwise it returns the Seq of the first bad
	// entry (for a missing entry, its Seq) and an error wrapping
	// ErrChainBroken; on a database error, 0 and that error.
	VerifyChain(ctx context.Context) (firstBad int64, err error)
}

// IssueParams names what IssueLicence and IssueBatch issue.
type IssueParams struct {
	DepartmentCode string
	TypeCode       string
	// IdempotencyKey is optional (1 to 128 bytes); see IssueLicence.
	IdempotencyKey string
	// RequestHash is a hash of the request body, required with an
	// IdempotencyKey.
	RequestHash []byte
	// KeyID, when not empty, is the ID of the key that signs the licences.
	// The store checks in the transaction that it is the department's
	// active key, and holds it so that it cannot be retired before the
	// commit; otherwise the call fails with ErrKeyNotActive and stores
	// nothing. Issuers always set it.
	KeyID string
	// RowKeys, for IssueBatch only, is empty or holds one distinct
	// idempotency key (1 to 128 bytes) per licence of the batch, and
	// RowHashes the request hash of each.
	RowKeys   []string
	RowHashes [][]byte
	// LogOrigin, when not empty, names the department's issuance log: every
	// licence stored is appended to it as a leaf (LicenceLeaf) in the same
	// transaction. Empty stores the licences without logging them.
	LogOrigin string
}

// ReissueParams names the licence ReissueLicence replaces.
type ReissueParams struct {
	DepartmentCode string
	// LicenceID is the ID of the version to replace.
	LicenceID      string
	IdempotencyKey string
	RequestHash    []byte
	// KeyID is checked as IssueParams.KeyID is.
	KeyID string
	// LogOrigin names the issuance log, as IssueParams.LogOrigin does.
	LogOrigin string
}

// ReissueBatchParams names the licences ReissueBatch replaces.
type ReissueBatchParams struct {
	DepartmentCode string
	// LicenceIDs are the versions to replace, at most MaxPageSize.
	LicenceIDs []string
	// KeyID is checked as IssueParams.KeyID is.
	KeyID string
	// LogOrigin names the issuance log, as IssueParams.LogOrigin does.
	LogOrigin string
}

// Reissued is the outcome of one licence of a ReissueBatch.
type Reissued struct {
	// Old is the replaced version as it was before the call (or as it is,
	// when Skipped).
	Old Licence
	// New is the new version; empty when Skipped.
	New Licence
	// Skipped is why the licence was not replaced: "" when it was,
	// otherwise SkipNotFound, SkipNotCurrent or SkipNotAuthorised.
	Skipped string
}

// Reasons ReissueBatch skips a licence.
const (
	// SkipNotFound: no such licence of the department.
	SkipNotFound = "not_found"
	// SkipNotCurrent: the licence is revoked (a superseded version
	// included), so it is not the licence's current version.
	SkipNotCurrent = "not_current"
	// SkipNotAuthorised: the department may no longer issue the type.
	SkipNotAuthorised = "not_authorised"
)

// Allocation is what the store allocated for a licence about to be built.
type Allocation struct {
	Serial       int64
	Version      int
	StatusListID string
	StatusIndex  int
}

// StatusChange asks UpdateStatus to change a licence's status.
type StatusChange struct {
	DepartmentCode string
	LicenceID      string
	// Status is the new status.
	Status Status
	// Reason is a reason code, recorded as StatusReason for a revocation or
	// suspension (required for them) and ignored for a reinstatement.
	Reason string
}

// LicenceQuery selects licences for ListLicences. Empty filters match all.
type LicenceQuery struct {
	// DepartmentCode is required.
	DepartmentCode string
	TypeCode       string
	HolderCode     string
	// Status, if not nil, selects licences with this status.
	Status *Status
	// Cursor is the next cursor of the previous page; empty for the first.
	Cursor string
	// Limit is the page size: DefaultPageSize if zero, at most MaxPageSize.
	Limit int
}

// Page sizes of ListLicences and ListAudit.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// MinStatusListSize is the smallest (and default) number of entries of a
// status list: 131072 = 2^17, so a list holds at most 65536 licences.
const MinStatusListSize = 131072
