package issuer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/prometheus/client_golang/prometheus"

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

// Config configures a Service: the shared core's settings (store, keys'
// passphrase, root, clock, logger, metrics) and each room's own, in its
// own type: Publication (PublicationConfig) and Wallet (WalletConfig). The
// Licences and Admin rooms have no settings of their own; Admin certifies
// new department keys with the core's Root.
type Config struct {
	// Store holds the issuer's state. Required. The service does not close it.
	Store store.Store
	// Passphrase decrypts the department signing keys kept in the store.
	Passphrase []byte
	// DecryptKey opens an encrypted private key; keys.ParsePrivateKey when
	// nil. Each key is opened once per service (it is slow on purpose).
	DecryptKey func(pem, passphrase []byte) (*sm2.PrivateKey, error)
	// Root is the trust-list operator's root key and certificate. When set,
	// the publication room builds and signs the trust list from the store,
	// and the administration certifies new department keys with it.
	Root *keys.Pair

	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives operational logs; it never receives secrets.
	Logger *slog.Logger
	// Registry receives the service's metrics; none are registered when nil.
	Registry prometheus.Registerer

	// Publication configures the trust list, the status lists and the
	// event stream.
	Publication PublicationConfig
	// Wallet configures holder links, wallet sessions and presentations.
	Wallet WalletConfig
	// Log configures the issuance log.
	Log LogConfig
}

// PublicationConfig configures the publication room. Zero values take the
// defaults.
type PublicationConfig struct {
	// PublicURL is the base URL under which the service is reachable,
	// e.g. "https://licences.example.gov.cn"; the trust list points
	// verifiers at PublicURL + "/v1/status/{list}".
	PublicURL string
	// TrustList is an operator-signed trust list served as it is when
	// Config.Root is nil.
	TrustList []byte
	// RootCertificate is the root certificate (DER or PEM) published at
	// /v1/keys/root.crt when Config.Root is nil.
	RootCertificate []byte
	// StatusTTL is the time-to-live of signed status lists.
	StatusTTL time.Duration
	// TrustListValidity is how long after signing a trust list's next
	// update is due.
	TrustListValidity time.Duration
	// EventPollInterval is how often the audit log is polled for status
	// events; EventPingInterval how often idle event streams get a comment.
	EventPollInterval time.Duration
	EventPingInterval time.Duration
	// EventReplayWindow is how many audit entries back from the head a
	// Last-Event-ID may lie and still be replayed; a client further behind
	// is told to refetch its lists instead (see Subscription.Gap).
	EventReplayWindow int64
	// EventPollOnly makes the event stream poll the audit log only, even
	// when the store can say that status changes were committed (a
	// store.StatusWatcher: PostgreSQL's LISTEN/NOTIFY, which brings a
	// change made through another issuer process within milliseconds
	// instead of the next poll).
	EventPollOnly bool
}

// WalletConfig configures the wallet room. Zero values take the defaults.
type WalletConfig struct {
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
}

// Service is the issuer: six rooms over one shared core. Each room is a
// small type of its own; callers reach them by name:
//
//   - Licences: issuance (single and bulk), lifecycle, re-issue;
//   - Publication: the trust list, status lists, keys and the event stream;
//   - Wallet: holder links, wallet sessions, presentations, annotated copies;
//   - Admin: departments, keys, licence types, tokens, authorisation, audit;
//   - Documents: signed documents (stamped PDFs, .p7s) and their rescission;
//   - Log: the departments' issuance logs, their checkpoints and routes.
//
// It is safe for concurrent use, and several services (in one process or
// several) may share one store. See docs/design/issuer-rooms.md.
type Service struct {
	Licences    *Licences
	Publication *Publication
	Wallet      *Wallet
	Admin       *Admin
	Documents   *Documents
	Log         *Logs

	core *core
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
	def(&cfg.Publication.StatusTTL, DefaultStatusTTL)
	def(&cfg.Publication.TrustListValidity, DefaultTrustListValidity)
	def(&cfg.Wallet.PresentationTTL, DefaultPresentationTTL)
	if cfg.Wallet.PresentationTTL > format.MaxPresentationLifetime {
		return nil, fmt.Errorf("issuer: presentation ttl %s is longer than the %s verifiers accept", cfg.Wallet.PresentationTTL, format.MaxPresentationLifetime)
	}
	def(&cfg.Wallet.HolderLinkTTL, DefaultHolderLinkTTL)
	def(&cfg.Wallet.WalletSessionTTL, DefaultWalletSessionTTL)
	def(&cfg.Wallet.IdentityLinkTTL, DefaultIdentityLinkTTL)
	def(&cfg.Publication.EventPollInterval, DefaultEventPollInterval)
	def(&cfg.Publication.EventPingInterval, DefaultEventPingInterval)
	if cfg.Publication.EventReplayWindow <= 0 {
		cfg.Publication.EventReplayWindow = DefaultEventReplayWindow
	}
	cfg.Publication.PublicURL = strings.TrimRight(cfg.Publication.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DecryptKey == nil {
		cfg.DecryptKey = keys.ParsePrivateKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := newCore(cfg)
	logs, err := newLogs(c, cfg.Log)
	if err != nil {
		return nil, err
	}
	pub := newPublication(c, cfg.Publication)
	c.keysChanged = pub.forget
	logs.start()
	return &Service{
		core:        c,
		Log:         logs,
		Licences:    &Licences{core: c},
		Publication: pub,
		Wallet:      &Wallet{core: c, cfg: cfg.Wallet},
		Admin:       &Admin{core: c, tokens: map[string]cachedToken{}},
		Documents:   &Documents{core: c},
	}, nil
}

// Close stops the event stream poller and ends open event streams.
func (s *Service) Close() error {
	s.Publication.events.close()
	s.Log.close()
	return nil
}

// Store returns the service's store.
func (s *Service) Store() store.Store { return s.core.store }

// Ready reports whether the store is reachable.
func (s *Service) Ready(ctx context.Context) error { return s.core.store.Ping(ctx) }

// Now returns the time on the service's clock (Config.Now).
func (s *Service) Now() time.Time { return s.core.now() }
