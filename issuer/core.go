package issuer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"elicence/format"
	"elicence/issuer/store"
	"elicence/keys"
)

// core is what every room shares: the store, the clock, the logger, the
// metrics, and the caches of licence types and decrypted signing keys.
// A room embeds it and adds its own config and state; no room reaches
// into another's.
type core struct {
	store      store.Store
	now        func() time.Time
	log        *slog.Logger
	metrics    *metrics
	passphrase []byte
	decryptKey func(pem, passphrase []byte) (*sm2.PrivateKey, error)
	// root is the trust-list operator's key (Config.Root), or nil.
	root *keys.Pair
	// publicURL is PublicationConfig.PublicURL: QR texts of every room
	// are URLs of the public verification page under it (qrtext.go).
	publicURL string
	// logOrigin names the department's issuance log, which the rooms
	// that sign pass to the store (IssueParams.LogOrigin and the like);
	// "" when the log is disabled (LogConfig.Disabled).
	logOrigin func(ctx context.Context, dept string) (string, error)
	// logTrust adds the departments' logs and the witness to a trust list
	// being built (the Logs room's, when it co-signs checkpoints).
	logTrust func(ctx context.Context, tl *format.TrustList) error

	mu      sync.Mutex
	types   map[string]*LicenceType // immutable once created
	signers map[string]*signer      // by department code + "/" + key ID
	active  map[string]activeKey    // by department code
	flight  singleflight.Group

	// keysChanged is told of a department whose keys changed, or of ""
	// when the registry behind the trust list did: the publication room
	// drops what it signed with them.
	keysChanged func(dept string)
}

func newCore(cfg Config) *core {
	return &core{
		publicURL: cfg.Publication.PublicURL,
		store:     cfg.Store, now: cfg.Now, log: cfg.Logger, metrics: newMetrics(cfg.Registry),
		passphrase: cfg.Passphrase, decryptKey: cfg.DecryptKey, root: cfg.Root,
		types: map[string]*LicenceType{}, signers: map[string]*signer{}, active: map[string]activeKey{},
		keysChanged: func(string) {},
		logOrigin:   func(context.Context, string) (string, error) { return "", nil },
		logTrust:    func(context.Context, *format.TrustList) error { return nil },
	}
}

type activeKey struct {
	id      string
	fetched time.Time
}

type cachedToken struct {
	tok     store.Token
	fetched time.Time
}

// signer is a decrypted department signing key.
type signer struct {
	dept string
	id   keys.ID
	// key signs with its ZA computed once (keys.SM2Key).
	key *keys.SM2Key
}

// licenceType returns the catalogue entry for code, from the store the
// first time. It returns store.ErrNotFound for an unknown type.
func (s *core) licenceType(ctx context.Context, code string) (*LicenceType, error) {
	s.mu.Lock()
	lt := s.types[code]
	s.mu.Unlock()
	if lt != nil {
		return lt, nil
	}
	st, err := s.store.LicenceType(ctx, code)
	if err != nil {
		return nil, err
	}
	lt, err = FromStore(st)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.types[code] = lt
	s.mu.Unlock()
	return lt, nil
}

// activeSigner returns the department's active signing key, decrypted.
// The active key's ID is re-read from the store every few seconds so that
// a rotation made by another process is followed; what it signs is then
// checked against the store again (IssueParams.KeyID for licences,
// confirmActive for the rest), so a key retired elsewhere signs nothing.
func (s *core) activeSigner(ctx context.Context, dept string) (*signer, error) {
	return s.activeSignerWithin(ctx, dept, defaultKeyCacheRefresh)
}

// activeSignerWithin is activeSigner with the active key's ID at most
// maxAge old.
func (s *core) activeSignerWithin(ctx context.Context, dept string, maxAge time.Duration) (*signer, error) {
	now := s.now()
	s.mu.Lock()
	ak, ok := s.active[dept]
	s.mu.Unlock()
	if !ok || now.Sub(ak.fetched) >= maxAge || now.Before(ak.fetched) {
		k, err := s.readActive(ctx, dept)
		if err != nil {
			return nil, err
		}
		sg, err := s.cacheSigner(k)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if prev, ok := s.active[dept]; ok && prev.id != k.ID {
			s.dropSignersLocked(dept, k.ID)
		}
		s.active[dept] = activeKey{id: k.ID, fetched: now}
		s.mu.Unlock()
		return sg, nil
	}
	s.mu.Lock()
	sg := s.signers[dept+"/"+ak.id]
	s.mu.Unlock()
	if sg != nil {
		return sg, nil
	}
	k, err := s.readActive(ctx, dept)
	if err != nil {
		return nil, err
	}
	return s.cacheSigner(k)
}

// readActive reads dept's active key from the store; with none, it drops
// the department's cached keys and says so.
func (s *core) readActive(ctx context.Context, dept string) (store.SigningKey, error) {
	k, err := s.store.ActiveSigningKey(ctx, dept)
	if errors.Is(err, store.ErrNotFound) {
		s.dropActive(dept)
		return k, problem(ErrUnavailable, "department %s has no active signing key: it signs nothing until the operator adds one", dept)
	}
	return k, err
}

// confirmActive checks, after sg signed something and before it is handed
// out, that sg is still the department's active key in the store. A key
// retired or marked compromised by any process before this read has its
// signature thrown away: it signs nothing after its retirement. When the
// key is no longer active the department's cached keys are dropped and
// errKeyChanged returned.
func (s *core) confirmActive(ctx context.Context, sg *signer) error {
	k, err := s.store.ActiveSigningKey(ctx, sg.dept)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && k.ID == sg.id.String() {
		return nil
	}
	s.forgetKeys(sg.dept)
	return errKeyChanged
}

// errKeyChanged reports that the key a signature was made with stopped
// being active; the caller signs again with the current key, or refuses.
var errKeyChanged = errors.New("signing key is no longer active")

func (s *core) dropActive(dept string) {
	s.mu.Lock()
	delete(s.active, dept)
	s.dropSignersLocked(dept, "")
	s.mu.Unlock()
}

// dropSignersLocked forgets the decrypted keys of dept other than keep, so
// that no private key of a key that stopped being active stays in memory.
func (s *core) dropSignersLocked(dept, keep string) {
	for name := range s.signers {
		if strings.HasPrefix(name, dept+"/") && name != dept+"/"+keep {
			delete(s.signers, name)
		}
	}
}

// cacheSigner decrypts k (slow: PBKDF2) once per process, in one goroutine
// however many ask at the same time. Only an active key is decrypted: the
// store destroys the private half of every other key, and a key that is
// not active must sign nothing even if a copy were left.
func (s *core) cacheSigner(k store.SigningKey) (*signer, error) {
	name := k.DepartmentCode + "/" + k.ID
	if k.State != store.KeyActive || len(k.PrivateKeyPEM) == 0 {
		return nil, fmt.Errorf("signing key %s is %s: %w", name, k.State, errKeyChanged)
	}
	v, err, _ := s.flight.Do("key:"+name, func() (any, error) {
		s.mu.Lock()
		sg := s.signers[name]
		s.mu.Unlock()
		if sg != nil {
			return sg, nil
		}
		priv, err := s.decryptKey(k.PrivateKeyPEM, s.passphrase)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", name, err)
		}
		id, err := keys.IDOf(&priv.PublicKey)
		if err != nil {
			return nil, err
		}
		if id.String() != k.ID {
			return nil, fmt.Errorf("signing key %s: stored key has id %s", name, id)
		}
		sk, err := keys.NewSM2Key(priv)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", name, err)
		}
		sg = &signer{dept: k.DepartmentCode, id: id, key: sk}
		s.mu.Lock()
		s.signers[name] = sg
		s.mu.Unlock()
		return sg, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*signer), nil
}

// forgetKeys drops cached key state of dept, after a rotation or a key
// state change: the active key, the decrypted signers, the status lists
// they signed (served next signed by the active key, or not at all when
// there is none) and the trust list.
func (s *core) forgetKeys(dept string) {
	s.mu.Lock()
	delete(s.active, dept)
	s.dropSignersLocked(dept, "")
	s.mu.Unlock()
	s.keysChanged(dept)
}

// activeKeyID returns the ID of dept's active key as last read from the
// store, if any.
func (s *core) activeKeyID(dept string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ak, ok := s.active[dept]
	return ak.id, ok
}

// sign times a signature for the signing-latency metric.
func (s *core) sign(object string, fn func() error) error {
	start := time.Now()
	err := fn()
	s.metrics.signing.WithLabelValues(object).Observe(time.Since(start).Seconds())
	return err
}

type metrics struct {
	issued        *prometheus.CounterVec
	statusChanges *prometheus.CounterVec
	signing       *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elicence_issuer_licences_issued_total", Help: "Licences issued, by how (single, bulk, reissue).",
		}, []string{"mode"}),
		statusChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elicence_issuer_status_changes_total", Help: "Licence status changes, by new status (revoked, suspended, valid).",
		}, []string{"status"}),
		signing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "elicence_issuer_signing_seconds", Help: "SM2 signing latency by signed object.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05},
		}, []string{"object"}),
	}
	if reg != nil {
		reg.MustRegister(m.issued, m.statusChanges, m.signing)
	}
	return m
}
