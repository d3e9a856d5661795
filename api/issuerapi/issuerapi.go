// Package issuerapi is the issuer's REST API under /v1: issuance,
// lifecycle, publication of trust and status lists, the revocation event
// stream, the wallet endpoints and the operator's administration. [New]
// returns the whole handler; [API.Routes] lists every endpoint in one
// place, and docs/openapi.yaml documents each (a test keeps the two equal).
//
// Handlers call the issuer's rooms and return errors; [writeError] maps
// each error's kind (package issuer/kind) to a problem kind, and an error
// of no kind to a 500 whose detail says nothing.
package issuerapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"elicence/api"
	"elicence/docs"
	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/kind"
	"elicence/issuer/store"
)

// Defaults of Config.
const (
	DefaultMaxBulkBody = 256 << 20
	DefaultRateLimit   = 1000 // requests per second per token
	DefaultRateBurst   = 2000
)

// Mount is another handler served under a path prefix by the same server,
// e.g. the verifier's POST /v1/verify or the web pages at "/".
type Mount struct {
	// Pattern is a chi pattern such as "/v1/verify" or "/*".
	Pattern string
	Handler http.Handler
}

// Config configures New.
type Config struct {
	Service *issuer.Service
	// Logger receives one line per request; never secrets.
	Logger *slog.Logger
	// Registry receives the HTTP metrics; Gatherer serves /metrics. Both
	// may be nil (no metrics).
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// MaxBody limits JSON request bodies; MaxBulkBody bulk uploads;
	// MaxDocument a document to sign (api.DefaultMaxDocument when 0).
	MaxBody     int64
	MaxBulkBody int64
	MaxDocument int64
	// MaxStreamedDocument limits a file signed with a .p7s, which is
	// hashed as it streams and never held (DefaultMaxStreamedDocument
	// when 0).
	MaxStreamedDocument int64
	// RateLimit is the sustained requests per second allowed per caller
	// (each API token, each wallet session), RateBurst the burst; a
	// request beyond them is answered 429.
	RateLimit float64
	RateBurst int
	// Now is the rate limiter's clock; the service's clock when nil.
	Now func() time.Time
	// MaxStreams caps the event streams (GET /v1/events) open at once, in
	// all and per client address; beyond them a new stream is answered
	// 503 or 429 with Retry-After.
	MaxStreams          int
	MaxStreamsPerClient int
	// Mounts are further handlers served alongside the API.
	Mounts []Mount
	// OIDC configures the wallet's sign-in through the identity provider;
	// nil or without an issuer URL, the wallet has one-time links only.
	OIDC *OIDCConfig
	// LogLookup says where a licence is in its department's issuance log,
	// for the wallet; nil: the log's lookup over HTTP at the URL the
	// published trust list names.
	LogLookup LogLookupFunc
}

// API is the issuer's HTTP API.
type API struct {
	cfg     Config
	svc     *issuer.Service
	limiter *limiter
	streams *streamSlots
	qr      *qrCache
	oidc    *oidcLogin // nil without a provider

	logLookup LogLookupFunc
	logMu     sync.Mutex
	logETag   string                        // of the trust list logDepts is from
	logDepts  map[string]*format.Department // departments with a log
}

// New returns the issuer's HTTP handler: the API, health, readiness and
// metrics endpoints and cfg.Mounts, behind request IDs, logging and
// metrics.
func New(cfg Config) http.Handler {
	a := newAPI(cfg)
	r := chi.NewRouter()
	var m *api.Metrics
	if cfg.Registry != nil {
		m = api.NewMetrics(cfg.Registry)
	}
	r.Use(api.Observe(a.cfg.Logger, m), api.CheckText)
	r.NotFound(api.NotFound)
	r.MethodNotAllowed(api.MethodNotAllowed)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.svc.Ready(ctx); err != nil {
			api.Logger(r.Context()).Warn("not ready", "err", err)
			api.WriteError(w, r, &api.Error{Kind: api.KindUnavailable, Detail: "the licence store is unavailable", RetryAfter: StoreRetryAfter})
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if cfg.Gatherer != nil {
		r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	r.Mount("/v1", a.Routes())
	r.Mount("/tlog", issuanceLog{a}.Routes())
	for _, mt := range cfg.Mounts {
		r.Handle(mt.Pattern, mt.Handler)
	}
	return r
}

func newAPI(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = api.DefaultMaxBody
	}
	if cfg.MaxBulkBody <= 0 {
		cfg.MaxBulkBody = DefaultMaxBulkBody
	}
	if cfg.MaxDocument <= 0 {
		cfg.MaxDocument = api.DefaultMaxDocument
	}
	if cfg.MaxStreamedDocument <= 0 {
		cfg.MaxStreamedDocument = DefaultMaxStreamedDocument
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
		if cfg.Service != nil {
			cfg.Now = cfg.Service.Now
		}
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.MaxStreamsPerClient <= 0 {
		cfg.MaxStreamsPerClient = DefaultMaxStreamsPerClient
	}
	a := &API{cfg: cfg, svc: cfg.Service, limiter: newLimiter(cfg.RateLimit, cfg.RateBurst),
		streams: newStreamSlots(cfg.MaxStreams, cfg.MaxStreamsPerClient), qr: newQRCache(512)}
	if cfg.OIDC.Enabled() {
		a.oidc = newOIDCLogin(*cfg.OIDC, cfg.Service, cfg.Now)
	}
	a.logLookup = cfg.LogLookup
	if a.logLookup == nil {
		a.logLookup = a.trustListLookup(&http.Client{Timeout: walletLogTimeout})
	}
	return a
}

// Routes lists every endpoint of the API, relative to /v1.
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(api.NotFound)
	r.MethodNotAllowed(api.MethodNotAllowed)

	// One resource per room of the issuer (docs/design/issuer-rooms.md).
	r.Get("/openapi.yaml", a.openAPI)

	// Publication: public, cacheable by any CDN.
	r.Group(publication{a}.routes)

	// Licences: departments, with bearer tokens.
	r.Mount("/licences", licences{a}.Routes())

	// Documents: departments sign and rescind, with bearer tokens.
	r.Mount("/documents", documents{a}.Routes())

	// The wallet: the holder's, with a session from a one-time link or the
	// identity provider; the department's one-time links, with its token.
	r.Mount("/wallet", wallet{a}.Routes())
	r.Group(wallet{a}.departmentRoutes)

	// Administration: the operator's, with an operator token; a
	// department's audit entries, with its token.
	r.Mount("/admin", admin{a}.Routes())
	r.Group(admin{a}.departmentRoutes)
	return r
}

// principalKey carries the authenticated principal in a request context.
type principalKey struct{}

func principal(r *http.Request) *issuer.Principal {
	p, _ := r.Context().Value(principalKey{}).(*issuer.Principal)
	return p
}

// bearer returns the bearer token of a request, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate requires a valid API token and applies its rate limit.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			a.writeError(w, r, &issuer.Problem{Err: issuer.ErrUnauthenticated, Detail: "an Authorization: Bearer token is required"})
			return
		}
		p, err := a.svc.Admin.Authenticate(r.Context(), tok)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if !a.allow(w, r, "token:"+p.TokenID, "rate limit of the token exceeded") {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// allow spends one request of the caller key's rate limit; when none is
// left it answers 429 with Retry-After and returns false.
func (a *API) allow(w http.ResponseWriter, r *http.Request, key, detail string) bool {
	if wait := a.limiter.take(key, a.cfg.Now()); wait > 0 {
		a.writeError(w, r, &api.Error{Kind: api.KindRateLimited, Detail: detail, RetryAfter: wait})
		return false
	}
	return true
}

// writeError maps the service's errors to problem details.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(err)
	var ae *api.Error
	if errors.As(e, &ae) && ae.Kind == api.KindUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="elicence"`)
	}
	api.WriteError(w, r, e)
}

// StoreRetryAfter is the Retry-After sent when the store is unavailable.
const StoreRetryAfter = 2 * time.Second

// kinds maps each error kind of the issuer to its problem kind and the
// detail sent when the error carries none of its own (an issuer.Problem's
// detail is sent instead). This is the one place kinds become HTTP.
var kinds = map[kind.Kind]struct {
	api    api.Kind
	detail string
}{
	kind.Invalid:             {api.KindBadRequest, "invalid argument"},
	kind.Unauthenticated:     {api.KindUnauthorized, "missing, unknown or revoked credentials"},
	kind.Forbidden:           {api.KindForbidden, "the token may not do this"},
	kind.NotAuthorised:       {api.KindForbidden, "the department is not authorised for this licence type"},
	kind.NotFound:            {api.KindNotFound, "not found"},
	kind.Conflict:            {api.KindConflict, "the request conflicts with the current state"},
	kind.IdempotencyMismatch: {api.KindConflict, "the Idempotency-Key was used with a different request"},
	kind.Unavailable:         {api.KindUnavailable, "the service cannot do this now"},
}

// toAPIError classifies err by its kind (package kind). Only *api.Error,
// *issuer.ValidationError, *issuer.Problem and the store's sentinels get a
// client-visible detail; anything else is internal.
func toAPIError(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ve *issuer.ValidationError
	if errors.As(err, &ve) {
		fields := make([]api.FieldError, len(ve.Errors))
		for i, f := range ve.Errors {
			fields[i] = api.FieldError{Field: f.Field, Reason: f.Reason}
		}
		return api.Invalid("the request is invalid", fields...)
	}
	// The drivers' own connection errors say no kind: IsUnavailable knows
	// them as well as store.ErrUnavailable (kind.StoreUnavailable).
	if store.IsUnavailable(err) {
		// Nothing was done, or what was done is not known to be durable:
		// the client may send the request again (with its Idempotency-Key).
		return &api.Error{Kind: api.KindUnavailable, Detail: "the licence store is unavailable; nothing was confirmed, send the request again later",
			RetryAfter: StoreRetryAfter, Err: err}
	}
	k, ok := kinds[kind.Of(err)]
	if !ok {
		return err
	}
	detail := k.detail
	var pb *issuer.Problem
	if errors.As(err, &pb) {
		detail = pb.Detail
	}
	e := &api.Error{Kind: k.api, Detail: detail, Err: err}
	if k.api == api.KindUnavailable {
		e.RetryAfter = StoreRetryAfter
	}
	return e
}

// limiter is a token bucket per caller: an API token or a wallet
// session.
type limiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), b: map[string]*bucket{}}
}

// take spends one request of key's bucket; it returns 0 if allowed, or
// how long to wait otherwise.
func (l *limiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[key]
	if b == nil {
		if len(l.b) > 100000 {
			clear(l.b)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.b[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(docs.OpenAPI)
}
