package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/format"
	"elicence/identifier"
	"elicence/issuer/store"
)

// SerialWidth is the number of digits a licence serial is written with.
const SerialWidth = 8

// Licences is the licences room: it issues licences (one at a time or in
// bulk), changes their status, re-issues them, and reads them back for
// the department that issued them. It has no settings of its own beyond
// the core's.
type Licences struct {
	*core
}

// FormatSerial writes a store serial as it appears in a licence identifier.
func FormatSerial(n int64) string {
	if n < 0 {
		return fmt.Sprintf("%0*d", SerialWidth, n)
	}
	// What %0*d writes, without fmt (once per licence issued): the digits
	// after SerialWidth bytes of room for the zeros that pad them.
	var b [SerialWidth + 19]byte
	d := strconv.AppendInt(b[SerialWidth:SerialWidth], n, 10)
	pad := max(SerialWidth-len(d), 0)
	for i := SerialWidth - pad; i < SerialWidth; i++ {
		b[i] = '0'
	}
	return string(b[SerialWidth-pad : SerialWidth+len(d)])
}

// RequestHash returns the hash that identifies a request for idempotency:
// SM3 over its JSON encoding, so that the same request in other white
// space or key order hashes alike.
func RequestHash(v any) []byte {
	if r, ok := v.(Request); ok {
		if b, ok := requestJSON(&r); ok {
			sum := sm3.Sum(b)
			return sum[:]
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("issuer: request hash: %v", err))
	}
	sum := sm3.Sum(b)
	return sum[:]
}

// prepared is a validated request with everything needed to build it.
type prepared struct {
	v    *Validated
	lt   *LicenceType
	sg   *signer
	dept string
}

// prepare checks p's right to issue req and validates it.
//
// Authorisation is checked first when checkAuth is set; otherwise the
// store checks it when it allocates the serial, which saves a query.
func (s *Licences) prepare(ctx context.Context, p *Principal, req *Request, now time.Time, checkAuth bool) (*prepared, error) {
	if req.Type == "" {
		return nil, fieldError("type", "required")
	}
	lt, err := s.licenceType(ctx, req.Type)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fieldError("type", "unknown licence type %q", req.Type)
	}
	if err != nil {
		return nil, err
	}
	if checkAuth {
		if err := s.checkAuthorised(ctx, p.Department, lt.Code); err != nil {
			return nil, err
		}
	}
	v, err := req.Validate(lt, now)
	if err != nil {
		return nil, err
	}
	sg, err := s.activeSigner(ctx, p.Department)
	if err != nil {
		return nil, err
	}
	return &prepared{v: v, lt: lt, sg: sg, dept: p.Department}, nil
}

func (s *Licences) checkAuthorised(ctx context.Context, dept, typeCode string) error {
	ok, err := s.store.IsAuthorised(ctx, dept, typeCode)
	if err != nil {
		return err
	}
	if !ok {
		return problem(store.ErrNotAuthorised, "department %s is not authorised to issue licence type %s", dept, typeCode)
	}
	return nil
}

// build signs the licence of pr with allocation a.
func (s *Licences) build(pr *prepared, a store.Allocation, issuedAt time.Time, supersedes string) (store.Licence, error) {
	d := Draft{
		Validated: pr.v, Type: pr.lt, IssuerCode: pr.dept, Serial: FormatSerial(a.Serial), Version: a.Version,
		Status: format.StatusRef{List: a.StatusListID, Index: uint32(a.StatusIndex)}, KeyID: pr.sg.id[:], IssuedAt: issuedAt,
	}
	_, recBytes, cred, err := d.build()
	if err != nil {
		return store.Licence{}, err
	}
	var signed format.Signed
	err = s.sign("credential", func() (err error) {
		signed, err = signCredential(pr.sg.key, pr.lt, cred)
		return err
	})
	if err != nil {
		return store.Licence{}, err
	}
	fields := []byte("{}")
	if len(pr.v.Fields) > 0 {
		fields = fieldsJSON(pr.v.Fields)
	}
	return store.Licence{
		ID: cred.ID(), DepartmentCode: pr.dept, TypeCode: pr.lt.Code, Serial: a.Serial, Version: a.Version,
		HolderName: pr.v.HolderName, HolderKind: string(pr.lt.Holder), HolderCode: pr.v.HolderID, Fields: fields,
		ValidFrom: pr.v.From, ValidUntil: pr.v.Until, IssuedAt: time.Unix(cred.IssuedAt, 0).UTC(),
		Status: store.StatusValid, StatusListID: a.StatusListID, StatusIndex: a.StatusIndex,
		Credential: signed.Encode(), RecordDigest: cred.RecordDigest, Record: recBytes, Supersedes: supersedes,
	}, nil
}

// issueDetail is the audit detail of an issuance. It never holds the
// holder's code. Its keys are in alphabetical order, as they were when it
// was encoded from a map.
func issueDetail(l *store.Licence) []byte {
	if plainJSON(l.DepartmentCode) && plainJSON(l.StatusListID) && plainJSON(l.TypeCode) {
		// What encoding/json writes, without reflection: the codes are
		// plain ASCII, which it writes as they are.
		b := make([]byte, 0, 64+len(l.DepartmentCode)+len(l.StatusListID)+len(l.TypeCode))
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(l.StatusIndex), 10)
		b = append(b, `,"issuer":"`...)
		b = append(b, l.DepartmentCode...)
		b = append(b, `","list":"`...)
		b = append(b, l.StatusListID...)
		b = append(b, `","serial":`...)
		b = strconv.AppendInt(b, l.Serial, 10)
		b = append(b, `,"type":"`...)
		b = append(b, l.TypeCode...)
		b = append(b, `","version":`...)
		b = strconv.AppendInt(b, int64(l.Version), 10)
		return append(b, '}')
	}
	return issueDetailJSON(l)
}

// plainJSON reports whether encoding/json writes s between quotes as it
// is: printable ASCII other than the quote, the backslash and the
// characters it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// issueDetailJSON is issueDetail by encoding/json.
func issueDetailJSON(l *store.Licence) []byte {
	b, _ := json.Marshal(struct {
		Index   int    `json:"index"`
		Issuer  string `json:"issuer"`
		List    string `json:"list"`
		Serial  int64  `json:"serial"`
		Type    string `json:"type"`
		Version int    `json:"version"`
	}{l.StatusIndex, l.DepartmentCode, l.StatusListID, l.Serial, l.TypeCode, l.Version})
	return b
}

// Issue validates req and issues one licence for p's department. With an
// idempotency key, the same key and request return the licence issued
// first (replayed is then true); the same key with another request is
// store.ErrIdempotencyMismatch.
func (s *Licences) Issue(ctx context.Context, p *Principal, req Request, idempotencyKey string) (l store.Licence, replayed bool, err error) {
	if err := requireDept(p, store.ScopeIssue); err != nil {
		return store.Licence{}, false, err
	}
	if len(idempotencyKey) > 128 {
		return store.Licence{}, false, fieldError("Idempotency-Key", "at most 128 bytes")
	}
	now := s.now()
	var hash []byte
	if idempotencyKey != "" {
		hash = RequestHash(req)
	}
	built := false
	err = s.withActiveKey(p.Department, func() error {
		pr, err := s.prepare(ctx, p, &req, now, false)
		if err != nil {
			return err
		}
		origin, err := s.logOrigin(ctx, p.Department)
		if err != nil {
			return err
		}
		built = false
		l, err = s.store.IssueLicence(ctx, store.IssueParams{
			DepartmentCode: p.Department, TypeCode: pr.lt.Code, IdempotencyKey: idempotencyKey, RequestHash: hash, KeyID: pr.sg.id.String(),
			LogOrigin: origin,
		}, func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			built = true
			l, err := s.build(pr, a, now, "")
			if err != nil {
				return store.Licence{}, store.AuditEvent{}, err
			}
			return l, store.AuditEvent{Actor: p.TokenID, Action: "licence.issue", Subject: l.ID, Detail: issueDetail(&l)}, nil
		})
		return err
	})
	if err != nil {
		return store.Licence{}, false, s.licenceErr(err, "")
	}
	if built {
		s.metrics.issued.WithLabelValues("single").Inc()
	}
	return l, !built, nil
}

// withActiveKey runs fn, which signs with the department's active key and
// stores what it signed with IssueParams.KeyID set. If the store reports
// that the key stopped being active in between (another process retired
// it), the cached keys are dropped and fn runs once more with the new
// active key; the store stored nothing the first time.
func (s *core) withActiveKey(dept string, fn func() error) error {
	err := fn()
	if errors.Is(err, store.ErrKeyNotActive) {
		s.forgetKeys(dept)
		err = fn()
	}
	if errors.Is(err, store.ErrKeyNotActive) {
		return problem(ErrUnavailable, "the signing key of department %s changed during the request; try again", dept)
	}
	return err
}

// licenceErr gives store errors about a licence a safe detail.
func (s *core) licenceErr(err error, id string) error {
	var pb *Problem
	var ve *ValidationError
	switch {
	case errors.As(err, &pb), errors.As(err, &ve):
		return err
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return problem(store.ErrIdempotencyMismatch, "the Idempotency-Key was used before with a different request")
	case errors.Is(err, store.ErrNotAuthorised):
		return problem(store.ErrNotAuthorised, "the department is not authorised to issue this licence type")
	case errors.Is(err, store.ErrNotFound):
		return problem(store.ErrNotFound, "no licence %s", id)
	}
	return err
}

// ReissueRequest changes a licence when it is re-issued as a new version.
// Absent fields keep their values; Fields, when present, replaces them all.
type ReissueRequest struct {
	HolderName *string           `json:"holder_name,omitempty"`
	ValidFrom  *string           `json:"valid_from,omitempty"`
	ValidUntil *string           `json:"valid_until,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
}

// RequestOf returns the issuance request that would issue l again.
func RequestOf(l store.Licence) Request {
	req := Request{
		Type: l.TypeCode, HolderName: l.HolderName, HolderID: l.HolderCode,
		ValidFrom:  l.ValidFrom.In(chinaTime).Format(dateLayout),
		ValidUntil: "长期",
	}
	if !l.ValidUntil.IsZero() {
		req.ValidUntil = l.ValidUntil.In(chinaTime).AddDate(0, 0, -1).Format(dateLayout)
	}
	if len(l.Fields) > 0 {
		json.Unmarshal(l.Fields, &req.Fields)
	}
	if len(req.Fields) == 0 {
		req.Fields = nil
	}
	return req
}

// Reissue replaces the valid licence id of p's department by a new version
// with the changes in rr; the old version is revoked as superseded in the
// same transaction.
//
// A re-issue revokes the old version, so it needs both scope issue and
// scope revoke.
func (s *Licences) Reissue(ctx context.Context, p *Principal, id string, rr ReissueRequest, idempotencyKey string) (store.Licence, bool, error) {
	if err := requireDept(p, store.ScopeIssue, store.ScopeRevoke); err != nil {
		return store.Licence{}, false, err
	}
	if len(idempotencyKey) > 128 {
		return store.Licence{}, false, fieldError("Idempotency-Key", "at most 128 bytes")
	}
	old, err := s.ownLicence(ctx, p, id)
	if err != nil {
		return store.Licence{}, false, err
	}
	if old.Status != store.StatusValid {
		return store.Licence{}, false, problem(store.ErrInvalidTransition, "licence %s is %s; only a valid licence can be re-issued", id, old.Status)
	}
	req := RequestOf(old)
	if rr.HolderName != nil {
		req.HolderName = *rr.HolderName
	}
	if rr.ValidFrom != nil {
		req.ValidFrom = *rr.ValidFrom
	}
	if rr.ValidUntil != nil {
		req.ValidUntil = *rr.ValidUntil
	}
	if rr.Fields != nil {
		req.Fields = rr.Fields
	}
	now := s.now()
	built := false
	var l store.Licence
	err = s.withActiveKey(p.Department, func() error {
		pr, err := s.prepare(ctx, p, &req, now, true)
		if err != nil {
			return err
		}
		built = false
		l, err = s.reissueOne(ctx, p, pr, id, rr, idempotencyKey, now, &built)
		return err
	})
	if errors.Is(err, store.ErrInvalidTransition) {
		return store.Licence{}, false, problem(store.ErrInvalidTransition, "licence %s is no longer valid; only a valid licence can be re-issued", id)
	}
	if err != nil {
		return store.Licence{}, false, s.licenceErr(err, id)
	}
	if built {
		s.metrics.issued.WithLabelValues("reissue").Inc()
		s.metrics.statusChanges.WithLabelValues(store.StatusRevoked.String()).Inc()
	}
	return l, !built, nil
}

func (s *Licences) reissueOne(ctx context.Context, p *Principal, pr *prepared, id string, rr ReissueRequest, idempotencyKey string, now time.Time, built *bool) (store.Licence, error) {
	origin, err := s.logOrigin(ctx, p.Department)
	if err != nil {
		return store.Licence{}, err
	}
	return s.store.ReissueLicence(ctx, store.ReissueParams{
		DepartmentCode: p.Department, LicenceID: id, IdempotencyKey: idempotencyKey, RequestHash: RequestHash(struct {
			ID string
			R  ReissueRequest
		}{id, rr}), KeyID: pr.sg.id.String(), LogOrigin: origin,
	}, func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
		*built = true
		l, err := s.build(pr, a, now, old.ID)
		if err != nil {
			return store.Licence{}, store.AuditEvent{}, err
		}
		return l, store.AuditEvent{Actor: p.TokenID, Action: ActionReissue, Subject: old.ID, Detail: reissueDetail(old, l, "")}, nil
	})
}

// reissueDetail is the audit detail of a re-issue: the old version's
// entry becomes revoked (superseded); key, when set, is the retired or
// compromised key the old version was signed with.
func reissueDetail(old, l store.Licence, key string) []byte {
	d := statusDetail{
		Issuer: old.DepartmentCode, List: old.StatusListID, Index: old.StatusIndex, Status: store.StatusRevoked.String(),
		Reason: store.ReasonSuperseded, Licence: old.ID, NewLicence: l.ID, NewList: l.StatusListID, NewIndex: &l.StatusIndex, OldKey: key,
	}
	if old.Status == store.StatusSuspended {
		d.NewStatus = store.StatusSuspended.String()
	}
	detail, _ := json.Marshal(d)
	return detail
}

// Audit actions of status changes; each entry's Detail is a statusDetail.
const (
	ActionSuspend   = "licence.suspend"
	ActionReinstate = "licence.reinstate"
	ActionRevoke    = "licence.revoke"
	ActionReissue   = "licence.reissue"
)

// statusDetail is the audit detail of a status change: enough for the
// event stream to name the status-list entry that changed.
type statusDetail struct {
	Issuer     string `json:"issuer"`
	List       string `json:"list"`
	Index      int    `json:"index"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Licence    string `json:"licence"`
	NewLicence string `json:"new_licence,omitempty"`
	NewList    string `json:"new_list,omitempty"`
	NewIndex   *int   `json:"new_index,omitempty"`
	// NewStatus is the new version's status when it is not valid (a
	// suspended licence re-issued stays suspended).
	NewStatus string `json:"new_status,omitempty"`
	OldKey    string `json:"old_key,omitempty"`
}

// Reason codes of revocations and suspensions.
var (
	RevocationReasons = []string{"cancelled", "withdrawn", "penalty", "issued_in_error", "holder_request", "other"}
	SuspensionReasons = []string{"investigation", "holder_request", "other"}
)

// Licence returns p's department's licence id, for a token with scope
// read; another department's licence is store.ErrNotFound, like one that
// does not exist.
func (s *Licences) Licence(ctx context.Context, p *Principal, id string) (store.Licence, error) {
	if err := requireDept(p, store.ScopeRead); err != nil {
		return store.Licence{}, err
	}
	return s.ownLicence(ctx, p, id)
}

// ownLicence returns p's department's licence id for an action whose
// scope the caller has checked.
func (s *core) ownLicence(ctx context.Context, p *Principal, id string) (store.Licence, error) {
	if p == nil || p.Department == "" {
		return store.Licence{}, requireDept(p, store.ScopeRead)
	}
	if _, err := identifier.ParseLicenceID(id); err != nil {
		return store.Licence{}, problem(store.ErrNotFound, "no licence %q", id)
	}
	l, err := s.store.Licence(ctx, p.Department, id)
	if err != nil {
		return store.Licence{}, s.licenceErr(err, id)
	}
	return l, nil
}

// List lists p's department's licences; q.DepartmentCode is set from p.
func (s *Licences) List(ctx context.Context, p *Principal, q store.LicenceQuery) ([]store.Licence, string, error) {
	if err := requireDept(p, store.ScopeRead); err != nil {
		return nil, "", err
	}
	q.DepartmentCode = p.Department
	out, next, err := s.store.ListLicences(ctx, q)
	if errors.Is(err, store.ErrInvalid) {
		return nil, "", fieldError("cursor", "malformed cursor")
	}
	return out, next, err
}

// ChangeStatus suspends (to StatusSuspended), reinstates (StatusValid) or
// revokes (StatusRevoked) p's department's licence id. reason is a code
// from SuspensionReasons or RevocationReasons; it is ignored for a
// reinstatement. Revocation is final.
func (s *Licences) ChangeStatus(ctx context.Context, p *Principal, id string, to store.Status, reason string) (store.Licence, error) {
	if err := requireDept(p, store.ScopeRevoke); err != nil {
		return store.Licence{}, err
	}
	action, reason, err := statusChangeRule(to, reason)
	if err != nil {
		return store.Licence{}, err
	}
	old, err := s.ownLicence(ctx, p, id)
	if err != nil {
		return store.Licence{}, err
	}
	if err := transitionRule(id, old.Status, to); err != nil {
		return store.Licence{}, err
	}
	detail, _ := json.Marshal(statusDetail{
		Issuer: old.DepartmentCode, List: old.StatusListID, Index: old.StatusIndex, Status: to.String(), Reason: reason, Licence: id,
	})
	l, err := s.store.UpdateStatus(ctx, store.StatusChange{DepartmentCode: p.Department, LicenceID: id, Status: to, Reason: reason},
		store.AuditEvent{Actor: p.TokenID, Action: action, Subject: id, Detail: detail})
	if errors.Is(err, store.ErrInvalidTransition) {
		// A concurrent change won; report the state it left.
		if cur, err2 := s.store.Licence(ctx, p.Department, id); err2 == nil {
			return store.Licence{}, transitionProblem(id, cur.Status, to)
		}
	}
	if err != nil {
		return store.Licence{}, s.licenceErr(err, id)
	}
	s.metrics.statusChanges.WithLabelValues(to.String()).Inc()
	return l, nil
}

// statusChangeRule checks a requested status change on its own, before
// the licence is read: a revocation or suspension needs one of its reason
// codes, a reinstatement has none. It returns the audit action and the
// reason to record.
func statusChangeRule(to store.Status, reason string) (action, recorded string, err error) {
	switch to {
	case store.StatusRevoked:
		if !slices.Contains(RevocationReasons, reason) {
			return "", "", fieldError("reason", "want one of %v", RevocationReasons)
		}
		return ActionRevoke, reason, nil
	case store.StatusSuspended:
		if !slices.Contains(SuspensionReasons, reason) {
			return "", "", fieldError("reason", "want one of %v", SuspensionReasons)
		}
		return ActionSuspend, reason, nil
	case store.StatusValid:
		return ActionReinstate, "", nil
	default:
		return "", "", fmt.Errorf("change status: unknown status %d", to)
	}
}

// transitionRule checks that licence id may go from status from to to
// (store.ValidateTransition), with a problem that says why not.
func transitionRule(id string, from, to store.Status) error {
	if err := store.ValidateTransition(from, to); err != nil {
		return transitionProblem(id, from, to)
	}
	return nil
}

func transitionProblem(id string, from, to store.Status) error {
	verb := map[store.Status]string{store.StatusSuspended: "suspend", store.StatusValid: "reinstate", store.StatusRevoked: "revoke"}[to]
	switch {
	case from == store.StatusRevoked:
		return problem(store.ErrInvalidTransition, "cannot %s licence %s: it is revoked, and revocation is final", verb, id)
	default:
		return problem(store.ErrInvalidTransition, "cannot %s licence %s: it is %s", verb, id, from)
	}
}
