package issuer

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/fxamacker/cbor/v2"
	"golang.org/x/sync/singleflight"

	"elicence/format"
	"elicence/issuer/store"
	"elicence/keys"
)

// Published is a signed object ready to serve: its bytes, an ETag and how
// long caches may keep it.
type Published struct {
	Body []byte
	// ETag is the quoted hex of SM3 over Body.
	ETag string
	// MaxAge is the Cache-Control max-age.
	MaxAge time.Duration
	// IssuedAt is when the object was signed.
	IssuedAt time.Time
}

func newPublished(body []byte, maxAge time.Duration, issuedAt time.Time) *Published {
	sum := sm3.Sum(body)
	return &Published{Body: body, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, MaxAge: maxAge, IssuedAt: issuedAt}
}

// Publication is the publication room: it signs and serves the trust
// list, the status lists, the public keys and the published registry
// (departments and licence types), and runs the revocation event stream.
type Publication struct {
	*core
	cfg PublicationConfig

	mu          sync.Mutex
	statusLists map[string]*publishedList
	lastStatus  map[string]int64 // last IssuedAt served, by list
	trust       *publishedTrust
	trustSeq    uint64
	flight      singleflight.Group

	events *eventHub
}

func newPublication(c *core, cfg PublicationConfig) *Publication {
	p := &Publication{core: c, cfg: cfg, statusLists: map[string]*publishedList{}, lastStatus: map[string]int64{}}
	p.events = newEventHub(p)
	return p
}

// forget drops what was signed with dept's keys (every status list of
// the department) and the trust list; with dept "" the trust list only.
func (s *Publication) forget(dept string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dept != "" {
		for id, c := range s.statusLists {
			if c.dept == dept {
				delete(s.statusLists, id)
			}
		}
	}
	s.trust = nil
}

// StatusTTL returns the configured status-list time-to-live.
func (s *Publication) StatusTTL() time.Duration { return s.cfg.StatusTTL }

type publishedList struct {
	dept     string
	revision int64
	signedAt time.Time
	keyID    keys.ID
	pub      *Published
}

// StatusList returns the signed status list id. A signed list is reused
// while the list's revision is unchanged and less than half its
// time-to-live has passed; otherwise it is signed afresh, with an
// issued-at never earlier than that of any list this service served
// before.
func (s *Publication) StatusList(ctx context.Context, id string) (*Published, error) {
	if len(id) == 0 || len(id) > 64 {
		return nil, problem(store.ErrNotFound, "no status list %q", id)
	}
	meta, err := s.store.StatusList(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem(store.ErrNotFound, "no status list %q", id)
	}
	if err != nil {
		return nil, err
	}
	// The department's active key is re-read at least every
	// statusKeyRecheck, so that a list signed by a key retired by another
	// process is not served from the cache for longer than that.
	if _, err := s.activeSignerWithin(ctx, meta.DepartmentCode, statusKeyRecheck); err != nil {
		return nil, err
	}
	if pub := s.cachedList(id, meta.Revision); pub != nil {
		return pub, nil
	}
	v, err, _ := s.flight.Do("status:"+id, func() (any, error) {
		if pub := s.cachedList(id, meta.Revision); pub != nil {
			return pub, nil
		}
		return s.signStatusList(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Published), nil
}

// statusKeyRecheck bounds how long a status list signed by a key that
// another process retired may still be served from this process's cache.
const statusKeyRecheck = time.Second

// cachedList returns the cached signing of list id at revision, if fresh.
func (s *Publication) cachedList(id string, revision int64) *Published {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.statusLists[id]
	if c == nil || c.revision < revision || now.Sub(c.signedAt) >= s.cfg.StatusTTL/2 || now.Before(c.signedAt) {
		return nil
	}
	if id, ok := s.activeKeyID(c.dept); !ok || id != c.keyID.String() {
		return nil // the department rotated its key, or has none active
	}
	return c.pub
}

// signStatusList reads the list in one snapshot and signs it with the
// department's active key, checked again after signing: a list is never
// signed by a retired or compromised key, and with no active key there is
// no list (ErrUnavailable) rather than one signed by the old key.
func (s *Publication) signStatusList(ctx context.Context, id string) (*Published, error) {
	for attempt := 0; ; attempt++ {
		pub, err := s.signStatusListOnce(ctx, id)
		if errors.Is(err, errKeyChanged) && attempt == 0 {
			continue // the key changed while signing: sign with the new one
		}
		if errors.Is(err, errKeyChanged) {
			return nil, problem(ErrUnavailable, "the signing key of status list %s changed while it was signed; try again", id)
		}
		return pub, err
	}
}

func (s *Publication) signStatusListOnce(ctx context.Context, id string) (*Published, error) {
	meta, entries, err := s.store.StatusListEntries(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem(store.ErrNotFound, "no status list %q", id)
	}
	if err != nil {
		return nil, err
	}
	sg, err := s.activeSigner(ctx, meta.DepartmentCode)
	if err != nil {
		return nil, err
	}
	now := s.now()
	s.mu.Lock()
	issuedAt := max(now.Unix(), s.lastStatus[id])
	s.lastStatus[id] = issuedAt
	s.mu.Unlock()
	st, dtl, err := statusEntries(meta.Size, entries, issuedAt)
	if err != nil {
		return nil, err
	}
	var signed format.Signed
	err = s.sign("status_list", func() (err error) {
		signed, err = format.SignStatusList(sg.key, format.StatusList{
			Issuer: meta.DepartmentCode, List: id, IssuedAt: issuedAt, TTL: uint32(s.cfg.StatusTTL / time.Second),
			Bits: format.StatusBits, Size: uint32(meta.Size), Lst: st.Compress(), KeyID: sg.id[:], Dtl: dtl,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sign status list %s: %w", id, err)
	}
	if err := s.confirmActive(ctx, sg); err != nil {
		return nil, err
	}
	pub := newPublished(signed.Encode(), s.cfg.StatusTTL, time.Unix(issuedAt, 0).UTC())
	s.mu.Lock()
	if c := s.statusLists[id]; c == nil || c.revision <= meta.Revision {
		s.statusLists[id] = &publishedList{dept: meta.DepartmentCode, revision: meta.Revision, signedAt: now, keyID: sg.id, pub: pub}
	}
	s.mu.Unlock()
	return pub, nil
}

type publishedTrust struct {
	checked     time.Time
	fingerprint []byte
	signedAt    time.Time
	list        *format.TrustList
	pub         *Published
}

// trustRecheck is how often the store is read to see whether the trust
// list's content changed.
const trustRecheck = time.Second

// TrustList returns the signed trust list. With the root key, the list is
// built from the store (departments, their keys and authorised types, the
// catalogue) and signed again when its content changes or half its
// validity has passed; its sequence number is the signing time in
// milliseconds, so it increases across processes and restarts. Without
// the root key the configured operator-signed list is served.
func (s *Publication) TrustList(ctx context.Context) (*Published, error) {
	if s.root == nil {
		return s.staticTrust()
	}
	now := s.now()
	s.mu.Lock()
	t := s.trust
	s.mu.Unlock()
	if t != nil && now.Sub(t.checked) < trustRecheck && !now.Before(t.checked) {
		return t.pub, nil
	}
	v, err, _ := s.flight.Do("trust", func() (any, error) {
		tl, err := s.buildTrustList(ctx)
		if err != nil {
			return nil, err
		}
		fp := trustFingerprint(tl)
		now := s.now()
		s.mu.Lock()
		t := s.trust
		s.mu.Unlock()
		if t != nil && bytes.Equal(t.fingerprint, fp) && now.Sub(t.signedAt) < s.cfg.TrustListValidity/2 && !now.Before(t.signedAt) {
			s.mu.Lock()
			s.trust = &publishedTrust{checked: now, fingerprint: fp, signedAt: t.signedAt, list: t.list, pub: t.pub}
			s.mu.Unlock()
			return t.pub, nil
		}
		s.mu.Lock()
		seq := max(uint64(now.UnixMilli()), s.trustSeq+1)
		s.trustSeq = seq
		s.mu.Unlock()
		tl.Sequence = seq
		tl.IssuedAt = now.Unix()
		tl.NextUpdate = now.Add(s.cfg.TrustListValidity).Unix()
		var signed format.Signed
		err = s.sign("trust_list", func() (err error) {
			signed, err = format.SignTrustList(s.root.Key, *tl)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("sign trust list: %w", err)
		}
		pub := newPublished(signed.Encode(), trustMaxAge, now)
		s.mu.Lock()
		s.trust = &publishedTrust{checked: now, fingerprint: fp, signedAt: now, list: tl, pub: pub}
		s.mu.Unlock()
		return pub, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Published), nil
}

// trustMaxAge is the Cache-Control max-age of the trust list: short, so
// that a newly admitted department or compromised key spreads quickly.
const trustMaxAge = 60 * time.Second

func (s *Publication) staticTrust() (*Published, error) {
	if len(s.cfg.TrustList) == 0 {
		return nil, problem(ErrUnavailable, "this issuer publishes no trust list")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trust == nil {
		_, tl, err := format.ParseTrustList(s.cfg.TrustList)
		if err != nil {
			return nil, fmt.Errorf("configured trust list: %w", err)
		}
		s.trust = &publishedTrust{list: tl, pub: newPublished(s.cfg.TrustList, trustMaxAge, time.Unix(tl.IssuedAt, 0).UTC())}
	}
	return s.trust.pub, nil
}

// trustFingerprint hashes a trust list's content without its times.
func trustFingerprint(tl *format.TrustList) []byte {
	c := *tl
	c.Sequence, c.IssuedAt, c.NextUpdate = 0, 0, 0
	b, err := cbor.Marshal(c)
	if err != nil {
		panic(err)
	}
	sum := sm3.Sum(b)
	return sum[:]
}

// buildTrustList reads the trust list's content from the store.
func (s *Publication) buildTrustList(ctx context.Context) (*format.TrustList, error) {
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	tl := &format.TrustList{Kind: format.KindTrustList, Departments: []format.Department{}}
	for _, d := range depts {
		ks, err := s.store.ListSigningKeys(ctx, d.Code)
		if err != nil {
			return nil, err
		}
		types, err := s.store.ListDepartmentTypes(ctx, d.Code)
		if err != nil {
			return nil, err
		}
		fd := format.Department{Code: d.Code, Name: d.Name, Keys: []format.TrustedKey{}, Types: []string{}}
		if fd.Documents, err = s.store.IsDocumentSigner(ctx, d.Code); err != nil {
			return nil, err
		}
		if s.cfg.PublicURL != "" {
			fd.StatusURL = s.cfg.PublicURL + "/v1/status/{list}"
		}
		for _, k := range ks {
			id, err := keys.ParseID(k.ID)
			if err != nil {
				return nil, err
			}
			tk := format.TrustedKey{ID: id[:], PublicKey: k.PublicKey, Certificate: k.Certificate}
			switch k.State {
			case store.KeyActive:
				tk.State = format.KeyActive
			case store.KeyRetired:
				// The store records the moment the key stopped being
				// active, in the transaction that retired it.
				tk.State, tk.Since = format.KeyRetired, k.RetiredAt.Unix()
			case store.KeyCompromised:
				tk.State, tk.Since = format.KeyCompromised, k.CompromisedSince.Unix()
			}
			if tk.State != format.KeyActive && tk.Since <= 0 {
				tk.Since = 1
			}
			fd.Keys = append(fd.Keys, tk)
		}
		for _, t := range types {
			fd.Types = append(fd.Types, t.Code)
		}
		tl.Departments = append(tl.Departments, fd)
	}
	if err := s.logTrust(ctx, tl); err != nil {
		return nil, fmt.Errorf("issuance logs: %w", err)
	}
	types, err := s.store.ListLicenceTypes(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range types {
		lt, err := FromStore(st)
		if err != nil {
			return nil, err
		}
		tl.Types = append(tl.Types, lt.Info())
	}
	sort.Slice(tl.Departments, func(i, j int) bool { return tl.Departments[i].Code < tl.Departments[j].Code })
	return tl, nil
}

// RootCertificate returns the root certificate as PEM, or nil when the
// service has none.
func (s *Publication) RootCertificate() []byte {
	if s.root != nil {
		return keys.CertificatePEM(s.root.Cert.Raw)
	}
	if len(s.cfg.RootCertificate) == 0 {
		return nil
	}
	c, err := keys.ParseCertificate(s.cfg.RootCertificate)
	if err != nil {
		return nil
	}
	return keys.CertificatePEM(c.Raw)
}

// PublicKey returns a department signing key by its ID: the public key as
// PEM and the certificate as PEM (nil when the key has none).
func (s *Publication) PublicKey(ctx context.Context, id string) (pubPEM, certPEM []byte, err error) {
	if _, err := keys.ParseID(id); err != nil {
		return nil, nil, problem(store.ErrNotFound, "no key %q", id)
	}
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range depts {
		k, err := s.store.SigningKey(ctx, d.Code, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		pub, err := keys.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, nil, err
		}
		pubPEM, err = keys.MarshalPublicKeyPEM(pub)
		if err != nil {
			return nil, nil, err
		}
		if len(k.Certificate) > 0 {
			certPEM = keys.CertificatePEM(k.Certificate)
		}
		return pubPEM, certPEM, nil
	}
	return nil, nil, problem(store.ErrNotFound, "no key %s", id)
}

// Department is a department as published: code and name.
type Department struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Departments lists the departments.
func (s *Publication) Departments(ctx context.Context) ([]Department, error) {
	ds, err := s.store.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Department, len(ds))
	for i, d := range ds {
		out[i] = Department{Code: d.Code, Name: d.Name}
	}
	return out, nil
}

// LicenceTypes returns the licence-type catalogue.
func (s *Publication) LicenceTypes(ctx context.Context) ([]*LicenceType, error) {
	sts, err := s.store.ListLicenceTypes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*LicenceType, 0, len(sts))
	for _, st := range sts {
		lt, err := FromStore(st)
		if err != nil {
			return nil, err
		}
		out = append(out, lt)
	}
	return out, nil
}

// statusEntries builds a status list's entries and its details (why and
// when each revoked or suspended entry became so, docs/FORMAT.md §9.2)
// from the store's entries. A detail's time is clamped to the list's
// issued-at, so that a store clock a little ahead of the service's never
// makes a list that verifiers refuse; an entry without a time (none in
// this store's data, but an import could lack one) gets no detail.
func statusEntries(size int, entries []store.StatusEntry, issuedAt int64) (*format.Statuses, []byte, error) {
	st := format.NewStatuses(size, format.StatusBits)
	var details []format.StatusDetail
	for _, e := range entries {
		if e.Index < 0 || e.Index >= size {
			continue
		}
		v := format.Status(e.Status)
		st.Set(e.Index, v)
		r := format.ParseReason(e.Reason)
		if e.ChangedAt.IsZero() || !r.Allows(v) {
			continue
		}
		details = append(details, format.StatusDetail{Index: uint32(e.Index), Reason: r, ChangedAt: max(1, min(e.ChangedAt.Unix(), issuedAt))})
	}
	dtl, err := format.CompressDetails(details)
	if err != nil {
		return nil, nil, fmt.Errorf("status list details: %w", err)
	}
	return st, dtl, nil
}
