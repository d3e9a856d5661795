package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"elicence/identifier"
)

// The limits of ServeFast's server, those of Serve's http.Server.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 32 << 10
	// maxPostHandlerRead is how much of a request body a handler left
	// unread the server discards to keep the connection (net/http's
	// maxPostHandlerReadBytes); with more left it closes the connection.
	maxPostHandlerRead = 256 << 10
)

// FastRoute is one route that ServeFast answers on fasthttp directly,
// without building a net/http request: a request whose method and request
// target are exactly Method and Path, over HTTP/1.1 with a Host header and
// a Content-Length of at most MaxBody. Serve gets the whole body and
// answers rc itself, or returns false without touching rc to leave the
// request (and the body it read) to the http.Handler, as if it had never
// looked. ctx is Serve's context, as net/http's BaseContext gives it.
type FastRoute struct {
	Method, Path string
	MaxBody      int
	Serve        func(rc *fasthttp.RequestCtx, ctx context.Context, body []byte) bool
}

// ServeFast is Serve on a fasthttp server (github.com/valyala/fasthttp),
// for the one route whose cost per request is mostly net/http's: route,
// when its Serve is set, is answered natively; every other request goes to
// h through a bridge that builds the net/http request (the body streamed,
// not buffered, so h's own body limits apply as under Serve) and buffers
// h's response with net/http's rules (status 200 by default, headers as
// at WriteHeader, Content-Type sniffed when unset). The limits are Serve's:
// 5 s to read the headers (at most 32 KiB), 30 s for the whole request, 120
// s idle, no write timeout; malformed requests are answered as net/http
// answers them. At ctx's end it stops accepting, lets requests in flight
// finish within grace, then closes what is left. Request contexts carry
// ctx's values but not its cancellation, and are not cancelled when the
// client goes away.
//
// A handler's response is sent whole, with a Content-Length, once it
// returns: Flush, Hijack and trailers are not offered, so streaming
// handlers (Server-Sent Events) must stay on Serve.
func ServeFast(ctx context.Context, ln net.Listener, h http.Handler, route FastRoute, grace time.Duration) error {
	s := &fastServer{h: h, route: route, base: context.WithoutCancel(ctx), conns: map[net.Conn]struct{}{}}
	srv := &fasthttp.Server{
		Handler:      s.serve,
		ErrorHandler: fastError,
		// The whole request within readTimeout: the headers within
		// readHeaderTimeout of its first byte, the body within the rest.
		ReadTimeout: readHeaderTimeout,
		HeaderReceived: func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: readTimeout - readHeaderTimeout}
		},
		IdleTimeout: idleTimeout,
		// Headers must fit the read buffer: net/http's MaxHeaderBytes and
		// the 4 KiB it allows beyond.
		ReadBufferSize: maxHeaderBytes + 4<<10,
		// Bodies are streamed to the handlers, which bound them; fasthttp
		// reads ahead at most 8 KiB of one.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		// No handler reads RequestCtx.Time: no clock read for it.
		LazyRequestTime: true,
		ConnState:       s.track,
		// net/http logs no malformed request; fasthttp would.
		Logger: log.New(io.Discard, "", 0),
	}
	return serveUntil(ctx, grace, func() error { return srv.Serve(ln) }, srv.ShutdownWithContext, s.closeAll)
}

type fastServer struct {
	h     http.Handler
	route FastRoute
	base  context.Context

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// track keeps the open connections, for closeAll.
func (s *fastServer) track(c net.Conn, st fasthttp.ConnState) {
	switch st {
	case fasthttp.StateNew:
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
}

// closeAll closes every connection still open after the grace period, as
// http.Server.Close does.
func (s *fastServer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func (s *fastServer) serve(rc *fasthttp.RequestCtx) {
	hd := &rc.Request.Header
	r := s.route
	if r.Serve == nil || !hd.IsHTTP11() || string(hd.Method()) != r.Method || string(hd.RequestURI()) != r.Path {
		s.bridge(rc, nil)
		return
	}
	n := hd.ContentLength()
	if n < 0 || n > r.MaxBody {
		s.bridge(rc, nil)
		return
	}
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	if cap(*bp) < n {
		*bp = make([]byte, 0, n)
	}
	body := (*bp)[:n]
	if stream := rc.RequestBodyStream(); stream != nil && n > 0 {
		if k, err := io.ReadFull(stream, body); err != nil {
			// Let the handler meet the short body as it would have.
			s.bridge(rc, io.MultiReader(bytes.NewReader(body[:k]), errorReader{err}))
			return
		}
	}
	if r.Serve(rc, s.base, body) {
		return
	}
	s.bridge(rc, bytes.NewReader(body))
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// bridge serves rc with the http.Handler. body, when not nil, is what is
// left of the request body (what a native route read of it, then the
// rest).
func (s *fastServer) bridge(rc *fasthttp.RequestCtx, body io.Reader) {
	r, err := netRequest(rc, s.base, body)
	if err != nil {
		fastError(rc, err)
		rc.SetConnectionClose()
		return
	}
	w := &fastWriter{rc: rc, header: http.Header{}}
	defer func() {
		if p := recover(); p != nil {
			// net/http's answer to a panicking handler: it logs the
			// panic (unless http.ErrAbortHandler) and hangs up.
			if p != http.ErrAbortHandler {
				log.Printf("http: panic serving %s: %v", r.RemoteAddr, p)
			}
			rc.HijackSetNoResponse(true)
			rc.Hijack(func(c net.Conn) { c.Close() })
		}
	}()
	s.h.ServeHTTP(w, r)
	w.finish()
	if r.ContentLength != 0 && !drained(r.Body.(*bridgeBody)) {
		rc.SetConnectionClose()
	}
}

// drained reports whether what the handler left of b is gone, so that
// the connection may serve the next request: at most maxPostHandlerRead
// more bytes are read and dropped, as net/http does. (net/http also hangs
// up after a body over an http.MaxBytesReader's limit, but only when the
// reader was given its own ResponseWriter; behind middleware that wraps
// the writer, as every API route is, it does not, and neither does this.)
func drained(b *bridgeBody) bool {
	if b.eof {
		return true
	}
	n, err := io.CopyN(io.Discard, b, maxPostHandlerRead+1)
	return err == io.EOF && n <= maxPostHandlerRead
}

// bridgeBody is the net/http request's body: it notes its end.
type bridgeBody struct {
	r   io.Reader
	eof bool
}

func (b *bridgeBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *bridgeBody) Close() error { return nil }

// netRequest is rc as a server-side net/http request: its fields as
// net/http's server sets them, the body read from rc's stream (after
// body, when not nil), the context ctx.
func netRequest(rc *fasthttp.RequestCtx, ctx context.Context, body io.Reader) (*http.Request, error) {
	hd := &rc.Request.Header
	uri := string(hd.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, err
	}
	r := &http.Request{
		Method:     string(hd.Method()),
		URL:        u,
		Proto:      string(hd.Protocol()),
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       string(hd.Host()),
		RemoteAddr: rc.RemoteAddr().String(),
		RequestURI: uri,
		Close:      hd.ConnectionClose(),
	}
	if !hd.IsHTTP11() {
		r.ProtoMinor = 0
	}
	for k, v := range hd.All() {
		switch string(k) {
		case "Host", "Transfer-Encoding", "Trailer":
		default:
			r.Header.Add(string(k), string(v))
		}
	}
	switch n := hd.ContentLength(); {
	case n >= 0:
		r.ContentLength = int64(n)
	case n == -1:
		r.ContentLength, r.TransferEncoding = -1, []string{"chunked"}
	}
	if body == nil {
		body = rc.RequestBodyStream()
		if body == nil {
			body = bytes.NewReader(rc.Request.Body())
		}
	} else if rest := rc.RequestBodyStream(); rest != nil {
		body = io.MultiReader(body, rest)
	}
	b := &bridgeBody{r: body}
	if r.ContentLength == 0 {
		b.eof = true
	}
	r.Body = b
	return r.WithContext(ctx), nil
}

// fastWriter is an http.ResponseWriter that buffers the response into rc
// with net/http's rules.
type fastWriter struct {
	rc     *fasthttp.RequestCtx
	header http.Header
	// sent is the header as it stood at WriteHeader.
	sent   http.Header
	status int
}

func (w *fastWriter) Header() http.Header { return w.header }

func (w *fastWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		// Informational answers are not passed on.
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *fastWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	// fasthttp sends a HEAD answer's Content-Length without its body.
	w.rc.Response.AppendBody(p)
	return len(p), nil
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// finish gives rc the status and headers once the handler returned.
func (w *fastWriter) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	resp := &w.rc.Response
	resp.SetStatusCode(w.status)
	_, haveType := w.sent["Content-Type"]
	for k, vv := range w.sent {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Date":
			// The framing is fasthttp's; the date is the server's.
			continue
		case "Connection":
			for _, v := range vv {
				if strings.EqualFold(strings.TrimSpace(v), "close") {
					resp.SetConnectionClose()
				}
			}
			continue
		}
		for _, v := range vv {
			resp.Header.Add(k, v)
		}
	}
	body := resp.Body()
	if !haveType && len(body) > 0 && bodyAllowed(w.status) {
		resp.Header.SetContentType(http.DetectContentType(body[:min(len(body), 512)]))
	}
}

// fastError answers a request fasthttp could not read as net/http answers
// one: 431 when the headers are too large, else 400, in plain text, and
// the connection closed. (net/http sends nothing to a client that timed
// out; fasthttp sends an answer to every failed read.)
func fastError(rc *fasthttp.RequestCtx, err error) {
	code, why := http.StatusBadRequest, ""
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		code = http.StatusRequestHeaderFieldsTooLarge
	case strings.Contains(err.Error(), "missing required host header"):
		why = ": missing required Host header"
	}
	rc.Response.Reset()
	rc.SetStatusCode(code)
	rc.Response.Header.SetContentType("text/plain; charset=utf-8")
	rc.SetBodyString(fmt.Sprintf("%d %s%s", code, http.StatusText(code), why))
	rc.SetConnectionClose()
}

// FastObserver does for a FastRoute what Observe does for a net/http
// handler, with the same request ID, headers, log line and metrics.
type FastObserver struct {
	log                 *slog.Logger
	m                   *Metrics
	method, route, path string
	// The series of a 200 answer, looked up once.
	ok      prometheus.Counter
	latency prometheus.Observer
}

// NewFastObserver returns the observer of the route pattern route called
// with method; m may be nil.
func NewFastObserver(log *slog.Logger, m *Metrics, method, route string) *FastObserver {
	o := &FastObserver{log: log, m: m, method: method, route: route, path: identifier.RedactCitizenIDs(route)}
	if m != nil {
		o.ok = m.Requests.WithLabelValues(route, method, "200")
		o.latency = m.Latency.WithLabelValues(route, method)
	}
	return o
}

var (
	headerRequestID = []byte("X-Request-Id")
	headerNosniff   = []byte("X-Content-Type-Options")
	valueNosniff    = []byte("nosniff")
)

// Serve runs serve, which answers rc with status 200 and returns the size
// of the body it set, as Observe runs a handler: it gives the request an
// ID (X-Request-ID, taken from the request when it is a short token), sets
// X-Request-ID and X-Content-Type-Options: nosniff, gives serve a context
// (from base) carrying the ID and a logger with it, logs one line, records
// the metrics, and turns a panic into a 500 with problem details.
func (o *FastObserver) Serve(rc *fasthttp.RequestCtx, base context.Context, serve func(ctx context.Context) int) {
	start := time.Now()
	id := string(rc.Request.Header.PeekBytes(headerRequestID))
	if len(id) == 0 || len(id) > 64 || !isToken(id) {
		id = newRequestID()
	}
	l := o.log.With("request_id", id)
	ctx := &requestContext{Context: base, id: id, log: l}
	status, n := http.StatusOK, 0
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				rc.HijackSetNoResponse(true)
				rc.Hijack(func(c net.Conn) { c.Close() })
				return
			}
			l.Error("panic", "panic", p)
			status, n = o.panicked(rc, ctx, id)
		}
		d := time.Since(start)
		switch {
		case o.m == nil:
		case status == http.StatusOK:
			o.ok.Inc()
			o.latency.Observe(d.Seconds())
		default:
			o.m.Requests.WithLabelValues(o.route, o.method, strconv.Itoa(status)).Inc()
			o.latency.Observe(d.Seconds())
		}
		l.Info("request", "method", o.method, "route", o.route, "path", o.path, "status", status,
			"bytes", n, "duration_ms", float64(d.Microseconds())/1000)
	}()
	rc.Response.Header.Set("X-Request-Id", id)
	rc.Response.Header.SetCanonical(headerNosniff, valueNosniff)
	n = serve(ctx)
}

// panicked answers a request whose serve panicked as Observe does: with
// the answer serve had set, if any, else a 500 with problem details.
func (o *FastObserver) panicked(rc *fasthttp.RequestCtx, ctx context.Context, id string) (status, n int) {
	if n := len(rc.Response.Body()); n > 0 {
		return http.StatusOK, n
	}
	rc.Response.Reset()
	w := &fastWriter{rc: rc, header: http.Header{}}
	w.header.Set("X-Request-ID", id)
	w.header.Set("X-Content-Type-Options", "nosniff")
	WriteError(w, (&http.Request{Method: o.method, URL: &url.URL{Path: o.route}}).WithContext(ctx), errors.New("panic"))
	w.finish()
	return w.status, len(rc.Response.Body())
}
