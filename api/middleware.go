package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"elicence/identifier"
)

type (
	loggerKey    struct{}
	requestIDKey struct{}
)

// RequestID returns the request's ID, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestContext carries a request's ID and logger: one allocation, not
// two nested context.WithValue.
type requestContext struct {
	context.Context
	id  string
	log *slog.Logger
}

func (c *requestContext) Value(key any) any {
	switch key.(type) {
	case requestIDKey:
		return c.id
	case loggerKey:
		return c.log
	}
	return c.Context.Value(key)
}

// Metrics are the HTTP metrics every elicence service exports.
type Metrics struct {
	Requests *prometheus.CounterVec
	Latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elicence_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "elicence_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.Requests, m.Latency)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Flush lets streaming handlers (Server-Sent Events) flush through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe is middleware that gives each request an ID (X-Request-ID, taken
// from the request when it is a short token), a logger carrying it, logs one
// line per request (never the query string or headers, which may carry
// secrets; citizen IDs in the path are masked), records metrics by chi route pattern, and turns panics into 500s.
func Observe(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get("X-Request-ID")
			if len(id) == 0 || len(id) > 64 || !isToken(id) {
				id = newRequestID()
			}
			l := log.With("request_id", id)
			r = r.WithContext(&requestContext{Context: r.Context(), id: id, log: l})
			w.Header().Set("X-Request-ID", id)
			// Every answer is typed; browsers must not guess otherwise.
			w.Header().Set("X-Content-Type-Options", "nosniff")
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					l.Error("panic", "panic", p)
					if sw.status == 0 {
						WriteError(sw, r, errors.New("panic"))
					}
				}
				route := "unmatched"
				if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
					route = rc.RoutePattern()
				}
				if sw.status == 0 {
					sw.status = http.StatusOK
				}
				d := time.Since(start)
				if m != nil {
					m.Requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
					m.Latency.WithLabelValues(route, r.Method).Observe(d.Seconds())
				}
				l.Info("request", "method", r.Method, "route", route, "path", identifier.RedactCitizenIDs(r.URL.Path), "status", sw.status,
					"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

func isToken(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NotFound and MethodNotAllowed answer unknown routes with problem details.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, Errorf(KindNotFound, "no such resource"))
}

// MethodNotAllowed answers a known route called with the wrong method.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, Errorf(KindMethodNotAllowed, "method %s not allowed here", r.Method))
}

// Serve runs h on ln with timeouts until ctx is done, then shuts down
// gracefully, letting in-flight requests finish within grace.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      0, // streams (SSE) are long-lived; handlers bound their own work
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	return serveUntil(ctx, grace, func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, srv.Shutdown, func() { srv.Close() })
}

// serveUntil runs serve until it fails or ctx is done; then it calls
// shutdown with grace to finish in-flight requests, closes what is left
// (closeNow) if grace runs out, and returns the first error of shutdown
// and serve (which returns nil once shut down).
func serveUntil(ctx context.Context, grace time.Duration, serve func() error, shutdown func(context.Context) error, closeNow func()) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		closeNow()
	}
	if e := <-errc; e != nil && err == nil {
		err = e
	}
	return err
}
