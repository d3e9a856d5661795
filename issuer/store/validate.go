package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// ValidDepartmentCode reports whether code is 1 to 32 upper-case ASCII
// letters or digits.
func ValidDepartmentCode(code string) bool {
	if len(code) == 0 || len(code) > 32 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validName reports whether s is 1 to max ASCII letters, digits, '-' or '_'.
func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidTypeCode reports whether code is a valid licence type code: 1 to 64
// ASCII letters, digits, '-' or '_'.
func ValidTypeCode(code string) bool { return validName(code, 64) }

// ValidKeyID reports whether id is 16 lower-case hex characters.
func ValidKeyID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Validate checks d's code and name.
func (d Department) Validate() error {
	if !ValidDepartmentCode(d.Code) {
		return invalidf("department code %q: want 1 to 32 upper-case letters or digits", d.Code)
	}
	if d.Name == "" {
		return invalidf("department %s: empty name", d.Code)
	}
	return nil
}

// Validate checks k's fields for AddSigningKey.
func (k SigningKey) Validate() error {
	if !ValidKeyID(k.ID) {
		return invalidf("key ID %q: want 16 lower-case hex characters", k.ID)
	}
	if !ValidDepartmentCode(k.DepartmentCode) {
		return invalidf("key %s: department code %q", k.ID, k.DepartmentCode)
	}
	if len(k.PublicKey) == 0 {
		return invalidf("key %s: empty public key", k.ID)
	}
	if len(k.PrivateKeyPEM) == 0 && k.State == KeyActive {
		return invalidf("key %s: empty private key", k.ID)
	}
	switch k.State {
	case KeyActive, KeyRetired:
	default:
		return invalidf("key %s: new key state %q: want active or retired", k.ID, k.State)
	}
	return nil
}

// ValidateKeyTransition checks a signing key state change from one state to
// another, as SetSigningKeyState does; since is the CompromisedSince time.
func ValidateKeyTransition(from, to KeyState, since time.Time) error {
	switch {
	case from == KeyActive && to == KeyRetired:
		return nil
	case (from == KeyActive || from == KeyRetired) && to == KeyCompromised:
		if since.IsZero() {
			return invalidf("compromised key needs a compromised-since time")
		}
		return nil
	}
	return fmt.Errorf("%w: key %s to %s", ErrInvalidTransition, from, to)
}

// Validate checks t's fields for CreateToken.
func (t Token) Validate() error {
	if !validName(t.ID, 64) {
		return invalidf("token ID %q: want 1 to 64 letters, digits, '-' or '_'", t.ID)
	}
	if t.DepartmentCode != "" && !ValidDepartmentCode(t.DepartmentCode) {
		return invalidf("token %s: department code %q", t.ID, t.DepartmentCode)
	}
	if len(t.SecretHash) != sm3.Size {
		return invalidf("token %s: secret hash is %d bytes, want %d", t.ID, len(t.SecretHash), sm3.Size)
	}
	if len(t.Scopes) == 0 {
		return invalidf("token %s: no scopes", t.ID)
	}
	for _, s := range t.Scopes {
		switch s {
		case ScopeIssue, ScopeRevoke, ScopeRead, ScopeOperator:
		default:
			return invalidf("token %s: unknown scope %q", t.ID, s)
		}
	}
	if op := t.HasScope(ScopeOperator); op != (t.DepartmentCode == "") {
		return invalidf("token %s: the operator scope is for, and only for, tokens without a department", t.ID)
	}
	return nil
}

// NormalizeScopes returns the scopes sorted and without duplicates.
func NormalizeScopes(scopes []Scope) []Scope {
	s := slices.Clone(scopes)
	slices.Sort(s)
	return slices.Compact(s)
}

// Validate checks lt's fields for CreateLicenceType.
func (lt LicenceType) Validate() error {
	if !ValidTypeCode(lt.Code) {
		return invalidf("licence type code %q: want 1 to 64 letters, digits, '-' or '_'", lt.Code)
	}
	if lt.Name == "" {
		return invalidf("licence type %s: empty name", lt.Code)
	}
	if lt.Authority == "" {
		return invalidf("licence type %s: empty authority", lt.Code)
	}
	if !json.Valid(lt.FieldDefinitions) {
		return invalidf("licence type %s: field definitions are not valid JSON", lt.Code)
	}
	if lt.DefaultValidityDays < 0 {
		return invalidf("licence type %s: negative default validity", lt.Code)
	}
	return nil
}

// Validate checks the licence's own fields; CheckAllocation checks that it
// matches what the store allocated.
func (l Licence) Validate() error {
	if l.ID == "" || len(l.ID) > 128 {
		return invalidf("licence ID %q: want 1 to 128 bytes", l.ID)
	}
	if !ValidDepartmentCode(l.DepartmentCode) {
		return invalidf("licence %s: department code %q", l.ID, l.DepartmentCode)
	}
	if !ValidTypeCode(l.TypeCode) {
		return invalidf("licence %s: type code %q", l.ID, l.TypeCode)
	}
	if l.Serial < 1 || l.Version < 1 {
		return invalidf("licence %s: serial %d version %d", l.ID, l.Serial, l.Version)
	}
	if l.HolderName == "" || l.HolderKind == "" || l.HolderCode == "" {
		return invalidf("licence %s: holder name, kind and code are required", l.ID)
	}
	if !json.Valid(l.Fields) {
		return invalidf("licence %s: fields are not valid JSON", l.ID)
	}
	if l.ValidFrom.IsZero() || l.IssuedAt.IsZero() {
		return invalidf("licence %s: valid-from and issued-at are required", l.ID)
	}
	if !l.ValidUntil.IsZero() && !l.ValidUntil.After(l.ValidFrom) {
		return invalidf("licence %s: valid-until is not after valid-from", l.ID)
	}
	if l.StatusListID == "" || l.StatusIndex < 0 {
		return invalidf("licence %s: no status-list slot", l.ID)
	}
	if len(l.Credential) == 0 || len(l.RecordDigest) == 0 {
		return invalidf("licence %s: credential and record digest are required", l.ID)
	}
	if l.Supersedes == l.ID {
		return invalidf("licence %s supersedes itself", l.ID)
	}
	return nil
}

// CheckAllocation checks that l is a new, valid licence of dept and
// typeCode carrying allocation a and superseding supersedes (empty for a
// first version), as the issuance methods require.
func (l Licence) CheckAllocation(dept, typeCode, supersedes string, a Allocation) error {
	if err := l.Validate(); err != nil {
		return err
	}
	switch {
	case l.DepartmentCode != dept:
		return invalidf("licence %s: department %s, want %s", l.ID, l.DepartmentCode, dept)
	case l.TypeCode != typeCode:
		return invalidf("licence %s: type %s, want %s", l.ID, l.TypeCode, typeCode)
	case l.Serial != a.Serial || l.Version != a.Version:
		return invalidf("licence %s: serial %d version %d, allocated %d version %d", l.ID, l.Serial, l.Version, a.Serial, a.Version)
	case l.StatusListID != a.StatusListID || l.StatusIndex != a.StatusIndex:
		return invalidf("licence %s: slot %s/%d, allocated %s/%d", l.ID, l.StatusListID, l.StatusIndex, a.StatusListID, a.StatusIndex)
	case l.Status != StatusValid:
		return invalidf("licence %s: new licence with status %s", l.ID, l.Status)
	case l.Supersedes != supersedes:
		return invalidf("licence %s: supersedes %q, want %q", l.ID, l.Supersedes, supersedes)
	}
	return nil
}

// ValidateTransition checks a licence status change as UpdateStatus does:
// valid to suspended, suspended to valid, valid or suspended to revoked.
func ValidateTransition(from, to Status) error {
	switch {
	case from == StatusValid && to == StatusSuspended,
		from == StatusSuspended && to == StatusValid,
		(from == StatusValid || from == StatusSuspended) && to == StatusRevoked:
		return nil
	}
	return fmt.Errorf("%w: licence %s to %s", ErrInvalidTransition, from, to)
}

// Validate checks the change's fields.
func (c StatusChange) Validate() error {
	if c.LicenceID == "" {
		return invalidf("status change: empty licence ID")
	}
	switch c.Status {
	case StatusValid:
	case StatusRevoked, StatusSuspended:
		if c.Reason == "" || len(c.Reason) > 64 {
			return invalidf("status change of %s: reason code must be 1 to 64 bytes", c.LicenceID)
		}
	default:
		return invalidf("status change of %s: unknown status %d", c.LicenceID, c.Status)
	}
	return nil
}

// Validate checks the idempotency fields.
func (p IssueParams) Validate() error {
	if len(p.RowKeys) > 0 || len(p.RowHashes) > 0 {
		return invalidf("row keys outside a batch")
	}
	if err := validateLogOrigin(p.LogOrigin); err != nil {
		return err
	}
	return validateIdempotency(p.IdempotencyKey, p.RequestHash)
}

// Validate checks the batch: 1 to MaxPageSize licence IDs, none twice.
func (p ReissueBatchParams) Validate() error {
	if len(p.LicenceIDs) == 0 || len(p.LicenceIDs) > MaxPageSize {
		return invalidf("re-issue batch of %d licences: want 1 to %d", len(p.LicenceIDs), MaxPageSize)
	}
	if err := validateLogOrigin(p.LogOrigin); err != nil {
		return err
	}
	seen := make(map[string]bool, len(p.LicenceIDs))
	for _, id := range p.LicenceIDs {
		if id == "" || seen[id] {
			return invalidf("re-issue batch: licence ID %q empty or repeated", id)
		}
		seen[id] = true
	}
	return nil
}

// ValidateBatch checks the parameters of a batch of n licences.
func (p IssueParams) ValidateBatch(n int) error {
	if n < 1 {
		return invalidf("batch size %d", n)
	}
	if p.IdempotencyKey != "" {
		return invalidf("idempotency key in a batch (give row keys)")
	}
	if err := validateLogOrigin(p.LogOrigin); err != nil {
		return err
	}
	if len(p.RowKeys) == 0 && len(p.RowHashes) == 0 {
		return nil
	}
	if len(p.RowKeys) != n || len(p.RowHashes) != n {
		return invalidf("%d row keys and %d row hashes for %d rows", len(p.RowKeys), len(p.RowHashes), n)
	}
	seen := make(map[string]bool, n)
	for i, k := range p.RowKeys {
		if k == "" {
			return invalidf("row %d: empty key", i)
		}
		if err := validateIdempotency(k, p.RowHashes[i]); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		if seen[k] {
			return invalidf("row %d: key %q given twice", i, k)
		}
		seen[k] = true
	}
	return nil
}

// Validate checks the idempotency fields.
func (p ReissueParams) Validate() error {
	if p.LicenceID == "" {
		return invalidf("re-issue: empty licence ID")
	}
	if err := validateLogOrigin(p.LogOrigin); err != nil {
		return err
	}
	return validateIdempotency(p.IdempotencyKey, p.RequestHash)
}

func validateIdempotency(key string, hash []byte) error {
	if len(key) > 128 {
		return invalidf("idempotency key longer than 128 bytes")
	}
	if key != "" && len(hash) == 0 {
		return invalidf("idempotency key without request hash")
	}
	return nil
}

// Validate checks that the event names an actor and an action and that
// Detail, if present, is JSON.
func (e AuditEvent) Validate() error {
	if e.Actor == "" || e.Action == "" {
		return invalidf("audit event needs an actor and an action")
	}
	if len(e.Detail) > 0 && !json.Valid(e.Detail) {
		return invalidf("audit event %s: detail is not valid JSON", e.Action)
	}
	return nil
}

// PageLimit returns the page size for a requested limit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// StatusListID returns the ID of a department's seq-th status list.
func StatusListID(dept string, seq int) string {
	return fmt.Sprintf("%s-%d", dept, seq)
}
