package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"elicence/issuer/store"
	"elicence/keys"
)

// MaxDepartmentCodeLength bounds department codes so that status-list IDs
// ("<code>-<seq>") stay within the 32 bytes a credential allows.
const MaxDepartmentCodeLength = 24

// Admin is the administration room: the operator's departments, signing
// keys, licence types and authorisations, the API tokens (and the
// authentication of every caller that presents one), and the audit log.
type Admin struct {
	*core

	mu     sync.Mutex
	tokens map[string]cachedToken // by hex of the secret hash
}

// DepartmentRequest asks for a new department.
type DepartmentRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Types are licence type codes the department may issue.
	Types []string `json:"types,omitempty"`
}

// CreateDepartment creates a department with a new SM2 signing key,
// certified by the root key, and authorises it for req.Types. It needs
// the root key (to certify) and the passphrase (to store the key).
func (s *Admin) CreateDepartment(ctx context.Context, p *Principal, req DepartmentRequest) (store.Department, store.SigningKey, error) {
	if err := requireOperator(p); err != nil {
		return store.Department{}, store.SigningKey{}, err
	}
	var errs []FieldError
	if !store.ValidDepartmentCode(req.Code) || len(req.Code) > MaxDepartmentCodeLength {
		errs = append(errs, FieldError{"code", "1 to 24 characters 0-9 and A-Z"})
	}
	if strings.TrimSpace(req.Name) == "" || runeLen(req.Name) > 64 {
		errs = append(errs, FieldError{"name", "1 to 64 characters"})
	}
	for i, t := range req.Types {
		if _, err := s.licenceType(ctx, t); errors.Is(err, store.ErrNotFound) {
			errs = append(errs, FieldError{"types[" + strconv.Itoa(i) + "]", "unknown licence type " + t + ": create it first with POST /v1/admin/licence-types (or elicence issuer init --catalogue FILE)"})
		} else if err != nil {
			return store.Department{}, store.SigningKey{}, err
		}
	}
	if len(errs) > 0 {
		return store.Department{}, store.SigningKey{}, &ValidationError{Errors: errs}
	}
	if s.root == nil {
		return store.Department{}, store.SigningKey{}, problem(ErrUnavailable, "this issuer holds no root key to certify a department key")
	}
	if len(s.passphrase) == 0 {
		return store.Department{}, store.SigningKey{}, problem(ErrUnavailable, "this issuer has no passphrase to store keys with")
	}
	d, err := s.store.CreateDepartment(ctx, store.Department{Code: req.Code, Name: req.Name},
		store.AuditEvent{Actor: p.TokenID, Action: "department.create", Subject: req.Code})
	if errors.Is(err, store.ErrDuplicate) {
		return store.Department{}, store.SigningKey{}, problem(store.ErrDuplicate, "department %s exists", req.Code)
	}
	if err != nil {
		return store.Department{}, store.SigningKey{}, err
	}
	k, err := s.NewDepartmentKey(ctx, p, d.Code)
	if err != nil {
		return store.Department{}, store.SigningKey{}, err
	}
	for _, t := range req.Types {
		if err := s.Authorise(ctx, p, d.Code, t); err != nil {
			return store.Department{}, store.SigningKey{}, err
		}
	}
	return d, k, nil
}

// NewDepartmentKey generates a department's new active signing key,
// certified by the root; the previous active key is retired.
func (s *Admin) NewDepartmentKey(ctx context.Context, p *Principal, dept string) (store.SigningKey, error) {
	if err := requireOperator(p); err != nil {
		return store.SigningKey{}, err
	}
	if s.root == nil || len(s.passphrase) == 0 {
		return store.SigningKey{}, problem(ErrUnavailable, "this issuer holds no root key or passphrase")
	}
	d, err := s.store.Department(ctx, dept)
	if errors.Is(err, store.ErrNotFound) {
		return store.SigningKey{}, problem(store.ErrNotFound, "no department %s", dept)
	}
	if err != nil {
		return store.SigningKey{}, err
	}
	priv, err := keys.Generate(nil)
	if err != nil {
		return store.SigningKey{}, err
	}
	certDER, err := keys.NewIssuerCertificate(s.root.Cert.Raw, s.root.Key, &priv.PublicKey, keys.Subject{Code: d.Code, Name: d.Name}, s.now())
	if err != nil {
		return store.SigningKey{}, err
	}
	return s.AddDepartmentKey(ctx, p, dept, priv, certDER)
}

// AddDepartmentKey stores priv (encrypted with the passphrase) as the
// department's new active signing key with its certificate (DER, may be
// empty).
func (s *Admin) AddDepartmentKey(ctx context.Context, p *Principal, dept string, k *sm2.PrivateKey, certDER []byte) (store.SigningKey, error) {
	if err := requireOperator(p); err != nil {
		return store.SigningKey{}, err
	}
	spki, err := keys.MarshalPublicKeyDER(&k.PublicKey)
	if err != nil {
		return store.SigningKey{}, err
	}
	pem, err := keys.MarshalPrivateKey(k, s.passphrase)
	if err != nil {
		return store.SigningKey{}, err
	}
	return s.addKeyPEM(ctx, p, dept, spki, pem, certDER)
}

// AddDepartmentKeyPEM stores an already encrypted private key (PKCS#8 PEM,
// encrypted with the service's passphrase) as the department's new active
// signing key.
func (s *Admin) AddDepartmentKeyPEM(ctx context.Context, p *Principal, dept string, keyPEM, certDER []byte) (store.SigningKey, error) {
	if err := requireOperator(p); err != nil {
		return store.SigningKey{}, err
	}
	k, err := s.decryptKey(keyPEM, s.passphrase)
	if err != nil {
		return store.SigningKey{}, err
	}
	spki, err := keys.MarshalPublicKeyDER(&k.PublicKey)
	if err != nil {
		return store.SigningKey{}, err
	}
	return s.addKeyPEM(ctx, p, dept, spki, keyPEM, certDER)
}

func (s *Admin) addKeyPEM(ctx context.Context, p *Principal, dept string, spki, pem, certDER []byte) (store.SigningKey, error) {
	id := keys.IDOfDER(spki).String()
	if err := s.checkShortKeyID(ctx, id); err != nil {
		return store.SigningKey{}, err
	}
	sk, err := s.store.AddSigningKey(ctx, store.SigningKey{
		ID: id, DepartmentCode: dept, PublicKey: spki, PrivateKeyPEM: pem, Certificate: certDER, State: store.KeyActive,
	}, store.AuditEvent{Actor: p.TokenID, Action: "key.add", Subject: dept + "/" + id})
	if err != nil {
		return store.SigningKey{}, err
	}
	s.forgetKeys(dept)
	return sk, nil
}

// SetKeyState retires a department key or marks it compromised since a
// time, at or after which what it signed is untrusted. A key is retired
// from now on: the store records the retirement time itself, so since
// must be zero for KeyRetired. since must not be in the future. Either
// way the key's private half is destroyed in the store and in this
// service's memory, so it signs nothing new; licences it signed keep
// working only until verifiers refuse them (a compromised key's at once),
// and ReissueKey re-issues them under the department's current key. It returns a
// *ValidationError for a bad state or time, store.ErrNotFound for an
// unknown department or key and store.ErrInvalidTransition (a conflict)
// for a change the key's current state forbids. The trust list and the
// department's cached signers and status lists are dropped, so that what
// is served next reflects the change.
func (s *Admin) SetKeyState(ctx context.Context, p *Principal, dept, id string, state store.KeyState, since time.Time) (store.SigningKey, error) {
	if err := requireOperator(p); err != nil {
		return store.SigningKey{}, err
	}
	switch state {
	case store.KeyRetired:
		if !since.IsZero() {
			return store.SigningKey{}, fieldError("since", "a key is retired from now on; omit since")
		}
	case store.KeyCompromised:
		if since.IsZero() {
			return store.SigningKey{}, fieldError("since", "required for a compromised key")
		}
		if since.After(s.now()) {
			return store.SigningKey{}, fieldError("since", "must not be in the future")
		}
	default:
		return store.SigningKey{}, fieldError("state", "retired or compromised")
	}
	detail, _ := json.Marshal(map[string]any{"state": state})
	k, err := s.store.SetSigningKeyState(ctx, dept, id, state, since, store.AuditEvent{Actor: p.TokenID, Action: "key.state", Subject: dept + "/" + id, Detail: detail})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.SigningKey{}, problem(store.ErrNotFound, "no key %s in department %s", id, dept)
	case errors.Is(err, store.ErrInvalidTransition):
		if cur, cerr := s.store.SigningKey(ctx, dept, id); cerr == nil {
			return store.SigningKey{}, problem(store.ErrInvalidTransition, "key %s is %s and cannot become %s", id, cur.State, state)
		}
		return store.SigningKey{}, problem(store.ErrInvalidTransition, "key %s cannot become %s", id, state)
	case err != nil:
		return store.SigningKey{}, err
	}
	s.forgetKeys(dept)
	return k, nil
}

// CreateLicenceType adds a licence type to the catalogue.
func (s *Admin) CreateLicenceType(ctx context.Context, p *Principal, lt LicenceType) (*LicenceType, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	st, err := lt.ToStore()
	if err != nil {
		return nil, fieldError("(type)", "%s", err.Error())
	}
	if err := s.checkTypeNumber(ctx, lt); err != nil {
		return nil, err
	}
	if _, err := s.store.CreateLicenceType(ctx, st, store.AuditEvent{Actor: p.TokenID, Action: "type.create", Subject: lt.Code}); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, problem(store.ErrDuplicate, "licence type %s exists", lt.Code)
		}
		return nil, err
	}
	return s.licenceType(ctx, lt.Code)
}

// Authorise lets a department issue a licence type.
func (s *Admin) Authorise(ctx context.Context, p *Principal, dept, typeCode string) error {
	if err := requireOperator(p); err != nil {
		return err
	}
	err := s.store.Authorise(ctx, dept, typeCode, store.AuditEvent{Actor: p.TokenID, Action: "type.authorise", Subject: dept + "/" + typeCode})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return problem(store.ErrNotFound, "no department %s or licence type %s", dept, typeCode)
	case errors.Is(err, store.ErrDuplicate):
		return problem(store.ErrDuplicate, "department %s is already authorised for %s", dept, typeCode)
	}
	if err == nil {
		s.keysChanged("")
	}
	return err
}

// AuditEntry is an audit entry as the API shows it.
type AuditEntry = store.AuditEntry

// Audit returns up to limit audit entries after seq. An operator sees
// every entry; a department token with scope read sees the entries about
// its department's licences and its own actions.
func (s *Admin) Audit(ctx context.Context, p *Principal, after int64, limit int) ([]store.AuditEntry, int64, error) {
	if !p.IsOperator() {
		if err := requireDept(p, store.ScopeRead); err != nil {
			return nil, 0, err
		}
	}
	limit = store.PageLimit(limit)
	var out []store.AuditEntry
	last := after
	for scanned := 0; len(out) < limit && scanned < 20; scanned++ {
		es, err := s.store.ListAudit(ctx, last, store.MaxPageSize)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range es {
			if len(out) == limit {
				break
			}
			last = e.Seq
			if p.IsOperator() || auditOf(e, p.Department) {
				out = append(out, e)
			}
		}
		if len(es) < store.MaxPageSize {
			break
		}
	}
	return out, last, nil
}

// auditOf reports whether an audit entry concerns the department.
func auditOf(e store.AuditEntry, dept string) bool {
	var d struct {
		Issuer string `json:"issuer"`
	}
	if json.Unmarshal(e.Detail, &d) == nil && d.Issuer == dept {
		return true
	}
	return strings.HasPrefix(e.Subject, dept+"/") || e.Subject == dept
}

// VerifyAudit checks the audit hash chain; see store.AuditStore.VerifyChain.
func (s *Admin) VerifyAudit(ctx context.Context) (int64, error) {
	return s.store.VerifyChain(ctx)
}
