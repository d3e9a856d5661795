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

// Defaults of Config.
const (
	DefaultStatusTTL          = 300 * time.Second
	DefaultTrustListValidity  = 7 * 24 * time.Hour
	DefaultPresentationTTL    = 60 * time.Second
	DefaultHolderLinkTTL      = 15 * time.Minute
	DefaultWalletSessionTTL   = 30 * 24 * time.Hour
	DefaultIdentityLinkTTL    = 2 * time.Minute
	MaxAnnotatedCopyValidity  = format.MaxAnnotatedCopyLifetime // verifiers refuse longer
	DefaultEventPollInterval  = 200 * time.Millisecond
	DefaultEventPingInterval  = 15 * time.Second
	DefaultEventReplayWindow  = 10000
	defaultKeyCacheRefresh    = 10 * time.Second
	defaultTokenCacheLifetime = time.Second
)

// Config configures a Service.
type Config struct {
	// Store holds the issuer's state. Required. The service does not close it.
	Store store.Store
	// Passphrase decrypts the department signing keys kept in the store.
	Passphrase []byte
	// DecryptKey opens an encrypted private key; keys.ParsePrivateKey when
	// nil. Each key is opened once per service (it is slow on purpose).
	DecryptKey func(pem, passphrase []byte) (*sm2.PrivateKey, error)
	// PublicURL is the base URL under which the service is reachable,
	// e.g. "https://licences.example.gov.cn"; the trust list points
	// verifiers at PublicURL + "/v1/status/{list}".
	PublicURL string
	// Root is the trust-list operator's root key and certificate. When set,
	// the service builds and signs the trust list from the store.
	Root *keys.Pair
	// TrustList is an operator-signed trust list served as it is when Root
	// is nil.
	TrustList []byte
	// RootCertificate is the root certificate (DER or PEM) published at
	// /v1/keys/root.crt when Root is nil.
	RootCertificate []byte

	// StatusTTL is the time-to-live of signed status lists.
	StatusTTL time.Duration
	// TrustListValidity is how long after signing a trust list's next
	// update is due.
	TrustListValidity time.Duration
	// PresentationTTL is the validity of a dynamic presentation QR.
	PresentationTTL time.Duration
	// HolderLinkTTL is the validity of a one-time wallet login link.
	HolderLinkTTL time.Duration
	// WalletSessionTTL is the validity of a wallet session from its start
	// or its last refresh: a wallet in use refreshes itself, so it stays
	// signed in on the holder's phone until signed out or unused this long.
	WalletSessionTTL time.Duration
	// IdentityLinkTTL is the validity of the one-time link an identity
	// provider sign-in hands the wallet page.
	IdentityLinkTTL time.Duration
	// EventPollInterval is how often the audit log is polled for status
	// events; EventPingInterval how often idle event streams get a comment.
	EventPollInterval time.Duration
	EventPingInterval time.Duration
	// EventReplayWindow is how many audit entries back from the head a
	// Last-Event-ID may lie and still be replayed; a client further behind
	// is told to refetch its lists instead (see Subscription.Gap).
	EventReplayWindow int64

	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives operational logs; it never receives secrets.
	Logger *slog.Logger
	// Registry receives the service's metrics; none are registered when nil.
	Registry prometheus.Registerer
}

// Service is the issuer: it issues licences, manages their lifecycle and
// publishes trust and status lists. It is safe for concurrent use, and
// several services (in one process or several) may share one store.
type Service struct {
	cfg     Config
	store   store.Store
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics

	mu          sync.Mutex
	types       map[string]*LicenceType // immutable once created
	signers     map[string]*signer      // by department code + "/" + key ID
	active      map[string]activeKey    // by department code
	tokens      map[string]cachedToken  // by hex of the secret hash
	statusLists map[string]*publishedList
	lastStatus  map[string]int64 // last IssuedAt served, by list
	trust       *publishedTrust
	trustSeq    uint64
	flight      singleflight.Group

	events *eventHub
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
	key  *sm2.PrivateKey
}

// New returns a service on cfg.Store. Call Close to stop its background
// work.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("issuer: no store")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.StatusTTL, DefaultStatusTTL)
	def(&cfg.TrustListValidity, DefaultTrustListValidity)
	def(&cfg.PresentationTTL, DefaultPresentationTTL)
	if cfg.PresentationTTL > format.MaxPresentationLifetime {
		return nil, fmt.Errorf("issuer: presentation ttl %s is longer than the %s verifiers accept", cfg.PresentationTTL, format.MaxPresentationLifetime)
	}
	def(&cfg.HolderLinkTTL, DefaultHolderLinkTTL)
	def(&cfg.WalletSessionTTL, DefaultWalletSessionTTL)
	def(&cfg.IdentityLinkTTL, DefaultIdentityLinkTTL)
	def(&cfg.EventPollInterval, DefaultEventPollInterval)
	def(&cfg.EventPingInterval, DefaultEventPingInterval)
	if cfg.EventReplayWindow <= 0 {
		cfg.EventReplayWindow = DefaultEventReplayWindow
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DecryptKey == nil {
		cfg.DecryptKey = keys.ParsePrivateKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: cfg.Store, now: cfg.Now, log: cfg.Logger,
		types: map[string]*LicenceType{}, signers: map[string]*signer{}, active: map[string]activeKey{},
		tokens: map[string]cachedToken{}, statusLists: map[string]*publishedList{}, lastStatus: map[string]int64{},
	}
	s.metrics = newMetrics(cfg.Registry)
	s.events = newEventHub(s)
	return s, nil
}

// Close stops the event stream poller and ends open event streams.
func (s *Service) Close() error {
	s.events.close()
	return nil
}

// Store returns the service's store.
func (s *Service) Store() store.Store { return s.store }

// Ready reports whether the store is reachable.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Now returns the time on the service's clock (Config.Now).
func (s *Service) Now() time.Time { return s.now() }

// StatusTTL returns the configured status-list time-to-live.
func (s *Service) StatusTTL() time.Duration { return s.cfg.StatusTTL }

// licenceType returns the catalogue entry for code, from the store the
// first time. It returns store.ErrNotFound for an unknown type.
func (s *Service) licenceType(ctx context.Context, code string) (*LicenceType, error) {
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
func (s *Service) activeSigner(ctx context.Context, dept string) (*signer, error) {
	return s.activeSignerWithin(ctx, dept, defaultKeyCacheRefresh)
}

// activeSignerWithin is activeSigner with the active key's ID at most
// maxAge old.
func (s *Service) activeSignerWithin(ctx context.Context, dept string, maxAge time.Duration) (*signer, error) {
	now := s.now()
	s.mu.Lock()
	ak, ok := s.active[dept]
	s.mu.Unlock()
	if !ok || now.Sub(ak.fetched) >= maxAge || now.Before(ak.fetched) {
		k, err := s.store.ActiveSigningKey(ctx, dept)
		if errors.Is(err, store.ErrNotFound) {
			s.dropActive(dept)
			return nil, problem(ErrUnavailable, "department %s has no active signing key: it signs nothing until the operator adds one", dept)
		}
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
	k, err := s.store.ActiveSigningKey(ctx, dept)
	if errors.Is(err, store.ErrNotFound) {
		s.dropActive(dept)
		return nil, problem(ErrUnavailable, "department %s has no active signing key: it signs nothing until the operator adds one", dept)
	}
	if err != nil {
		return nil, err
	}
	return s.cacheSigner(k)
}

// confirmActive checks, after sg signed something and before it is handed
// out, that sg is still the department's active key in the store. A key
// retired or marked compromised by any process before this read has its
// signature thrown away: it signs nothing after its retirement. When the
// key is no longer active the department's cached keys are dropped and
// errKeyChanged returned.
func (s *Service) confirmActive(ctx context.Context, sg *signer) error {
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

func (s *Service) dropActive(dept string) {
	s.mu.Lock()
	delete(s.active, dept)
	s.dropSignersLocked(dept, "")
	s.mu.Unlock()
}

// dropSignersLocked forgets the decrypted keys of dept other than keep, so
// that no private key of a key that stopped being active stays in memory.
func (s *Service) dropSignersLocked(dept, keep string) {
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
func (s *Service) cacheSigner(k store.SigningKey) (*signer, error) {
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
		priv, err := s.cfg.DecryptKey(k.PrivateKeyPEM, s.cfg.Passphrase)
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
		sg = &signer{dept: k.DepartmentCode, id: id, key: priv}
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
func (s *Service) forgetKeys(dept string) {
	s.mu.Lock()
	delete(s.active, dept)
	s.dropSignersLocked(dept, "")
	for id, c := range s.statusLists {
		if c.dept == dept {
			delete(s.statusLists, id)
		}
	}
	s.trust = nil
	s.mu.Unlock()
}

// sign times a signature for the signing-latency metric.
func (s *Service) sign(object string, fn func() error) error {
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
