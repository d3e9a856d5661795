// Package verifierapi is the verifier's HTTP API: POST /v1/verify takes a
// QR text (JSON) or a photo of a QR code (multipart PNG or JPEG) and
// answers the verification report, whatever the verdict. It holds no state
// and no secret: trust and status data come through the functions of
// [verifier.Config], so the same handler serves a stand-alone verifier (a
// [verifier.Cache] fetching from the issuer or reading files) and the
// all-in-one server (the issuer's own lists, in process).
//
// POST /v1/verify/batch verifies up to [MaxBatch] QR texts in one request,
// each with every check, for a relying department's system re-checking
// what it holds.
//
// Use [New] for a whole stand-alone server (the API, /healthz, /readyz and
// /metrics behind request IDs, logging and metrics), served by api.Serve or,
// with POST /v1/verify answered natively on fasthttp, by api.ServeFast with
// [Server.FastRoute]; or [NewHandler] to mount POST /v1/verify in another
// server (and [Handler.Batch] for the batch route).
package verifierapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/semaphore"

	"elicence/api"
	"elicence/docs"
	"elicence/format"
	"elicence/qr"
	"elicence/verifier"
)

// Limits of a verify request.
const (
	// DefaultMaxImage is the largest image accepted, in bytes.
	DefaultMaxImage = 5 << 20
	// DefaultDecodeMemory is the default of Config.DecodeMemory: room for
	// three of the largest images qr accepts (qr.MaxDecodedBytes each, plus
	// the search), or many phone photos.
	DefaultDecodeMemory = 256 << 20
	// decodeWait is how long an image waits for a decoder or memory.
	decodeWait = 2 * time.Second
	// maxJSON bounds a JSON request: the longest QR text and some room.
	maxJSON = 16 << 10
)

// Config configures the verifier API.
type Config struct {
	// Verify says where trust and status data come from, the clock, the
	// maximum staleness, the clock-skew tolerance, and the relying
	// department's own code (Verify.Department), which annotated copies
	// must name; a request cannot override it.
	Verify verifier.Config
	// Logger receives one line per verification (never the QR text);
	// discarded when nil.
	Logger *slog.Logger
	// Registry receives the metrics; Gatherer serves /metrics (New only).
	// Either may be nil.
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Ready reports whether the verifier can verify; nil checks that
	// Verify.Trust gives a trust list that is fresh now.
	Ready func(ctx context.Context) error
	// Stats, when set, exports the cache's state as metrics: the age of
	// each status list held and whether the event streams are connected.
	Stats func() verifier.CacheStats
	// MaxImage is the largest image upload in bytes; DefaultMaxImage when 0.
	MaxImage int64
	// MaxDocument is the largest document upload (the whole multipart
	// body of POST /v1/verify/document); api.DefaultMaxDocument when 0.
	MaxDocument int64
	// MaxDecoders bounds the images decoded at once; GOMAXPROCS, at most
	// 4, when 0. Four times as many uploads may be read and wait for a
	// decoder; beyond them an upload is answered 503 with Retry-After.
	MaxDecoders int
	// DecodeMemory bounds the memory all decodes at once may take, as
	// estimated from each image's header (qr.Inspect);
	// DefaultDecodeMemory when 0. An image waits for its share at most
	// decodeWait, then is answered 503 with Retry-After.
	DecodeMemory int64
}

// Handler serves POST /v1/verify.
type Handler struct {
	cfg       Config
	uploads   chan struct{}
	decoders  chan struct{}
	decodeMem *semaphore.Weighted
	verified  *prometheus.CounterVec
	// passed is verified's series of PASSED, looked up at the first.
	passed atomic.Pointer[prometheus.Counter]
}

// NewHandler returns the handler of POST /v1/verify, to be mounted at that
// path. It registers its metrics with cfg.Registry.
func NewHandler(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxImage <= 0 {
		cfg.MaxImage = DefaultMaxImage
	}
	if cfg.MaxDocument <= 0 {
		cfg.MaxDocument = api.DefaultMaxDocument
	}
	if cfg.MaxDecoders <= 0 {
		cfg.MaxDecoders = min(runtime.GOMAXPROCS(0), 4)
	}
	if cfg.DecodeMemory <= 0 {
		cfg.DecodeMemory = DefaultDecodeMemory
	}
	if cfg.Verify.Now == nil {
		cfg.Verify.Now = time.Now
	}
	h := &Handler{cfg: cfg, uploads: make(chan struct{}, 4*cfg.MaxDecoders),
		decoders: make(chan struct{}, cfg.MaxDecoders), decodeMem: semaphore.NewWeighted(cfg.DecodeMemory)}
	h.verified = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "elicence_verifications_total",
		Help: "Verifications by indication and sub-indication.",
	}, []string{"indication", "sub_indication"})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(h.verified)
		if cfg.Stats != nil {
			cfg.Registry.MustRegister(&cacheCollector{stats: cfg.Stats, now: cfg.Verify.Now})
		}
		if cfg.Verify.Memo != nil {
			cfg.Registry.MustRegister(memoCollector{cfg.Verify.Memo})
		}
	}
	return h
}

// Server is the stand-alone verifier server (New): an http.Handler, and
// POST /v1/verify as an api.FastRoute (FastRoute) for api.ServeFast.
type Server struct {
	h      *Handler
	router chi.Router
	fast   *api.FastObserver
}

// New returns a stand-alone verifier server: POST /v1/verify,
// /v1/verify/batch and /v1/verify/document, GET /healthz,
// GET /readyz, GET /metrics and GET /v1/openapi.yaml (docs/verifier-openapi.yaml),
// behind request IDs, logging and metrics.
func New(cfg Config) *Server {
	h := NewHandler(cfg)
	cfg = h.cfg
	var m *api.Metrics
	if cfg.Registry != nil {
		m = api.NewMetrics(cfg.Registry)
	}
	r := chi.NewRouter()
	r.Use(api.Observe(cfg.Logger, m))
	r.NotFound(api.NotFound)
	r.MethodNotAllowed(api.MethodNotAllowed)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", h.ready)
	if cfg.Gatherer != nil {
		r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	r.Get("/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(docs.VerifierOpenAPI)
	})
	r.Method(http.MethodPost, "/v1/verify", h)
	r.Method(http.MethodPost, "/v1/verify/batch", h.Batch())
	r.Method(http.MethodPost, "/v1/verify/document", h.Document())
	return &Server{h: h, router: r, fast: api.NewFastObserver(cfg.Logger, m, http.MethodPost, "/v1/verify")}
}

// ServeHTTP serves every route of the server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes returns the server's routes (for chi.Walk).
func (s *Server) Routes() chi.Routes { return s.router }

// FastRoute returns POST /v1/verify with a JSON body for api.ServeFast,
// answered natively when the body is the plain {"qr_text":"…"} that every
// client sends (plainQRText) with a text left after CleanText: the same
// verification, report, headers, log lines and metrics as ServeHTTP gives
// it, without net/http. Anything else (another content type, escapes in
// the JSON, an empty text) it leaves to ServeHTTP.
func (s *Server) FastRoute() api.FastRoute {
	return api.FastRoute{Method: http.MethodPost, Path: "/v1/verify", MaxBody: maxJSON, Serve: s.serveFast}
}

func (s *Server) serveFast(rc *fasthttp.RequestCtx, base context.Context, body []byte) bool {
	if ct := rc.Request.Header.ContentType(); len(ct) != 0 && string(ct) != "application/json" {
		return false
	}
	raw, ok := plainQRText(body)
	if !ok {
		return false
	}
	text := CleanText(raw)
	if text == "" {
		return false
	}
	s.fast.Serve(rc, base, func(ctx context.Context) int {
		rep := verifier.Verify(ctx, text, s.h.cfg.Verify)
		s.h.count(rep)
		logVerified(ctx, rep)
		return writeFastJSON(rc, rep.AppendJSON)
	})
	return true
}

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	err := h.checkReady(ctx)
	if err != nil {
		api.Logger(r.Context()).Warn("not ready", "err", err)
		api.WriteError(w, r, &api.Error{Kind: api.KindUnavailable, Detail: "cannot give a verdict now: no fresh trust list held, or no status list can be fetched", RetryAfter: 5 * time.Second})
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (h *Handler) checkReady(ctx context.Context) error {
	if h.cfg.Ready != nil {
		return h.cfg.Ready(ctx)
	}
	if h.cfg.Verify.Trust == nil {
		return errors.New("no trust source configured")
	}
	t, err := h.cfg.Verify.Trust(ctx)
	if err != nil {
		return err
	}
	if !t.Fresh(h.cfg.Verify.Now()) {
		return fmt.Errorf("trust list %d is past its next update", t.List.Sequence)
	}
	return nil
}

// verifyRequest is the JSON body of POST /v1/verify.
type verifyRequest struct {
	// QRText is the text read from the QR code: LC1:, LP1: or LA1:.
	QRText *string `json:"qr_text"`
}

// ServeHTTP verifies the QR text or image of a POST request and answers the
// report with 200 whatever the verdict; a malformed request is answered
// with problem details.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		api.MethodNotAllowed(w, r)
		return
	}
	text, err := h.readText(w, r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	ctx := r.Context()
	rep := verifier.Verify(ctx, text, h.cfg.Verify)
	h.count(rep)
	logVerified(ctx, rep)
	writeJSON(w, rep.AppendJSON)
}

// logVerified logs a verification's outcome (never the QR text) on the
// request's logger.
func logVerified(ctx context.Context, rep *verifier.Report) {
	l := api.Logger(ctx)
	if l.Enabled(ctx, slog.LevelInfo) {
		attrs := []any{"kind", rep.Kind, "indication", rep.Indication, "sub_indication", rep.SubIndication}
		if rep.Issuer != nil {
			attrs = append(attrs, "issuer", rep.Issuer.Code)
		}
		l.Info("verified", attrs...)
	}
}

// readText returns the QR text of a request, from JSON or from an image.
func (h *Handler) readText(w http.ResponseWriter, r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	mt, params := ct, map[string]string(nil)
	if ct != "application/json" && ct != "" {
		var err error
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return "", api.Errorf(api.KindUnsupportedMediaType, "content type %q is malformed", ct)
		}
	}
	switch {
	case ct == "" || mt == "application/json":
		body, err := readBody(r, maxJSON)
		if err != nil {
			return "", api.Errorf(api.KindBadRequest, "request body unreadable")
		}
		if len(body) > maxJSON {
			return "", &api.Error{Kind: api.KindTooLarge, Detail: fmt.Sprintf("request body exceeds %d bytes", maxJSON)}
		}
		raw, ok := plainQRText(body)
		if !ok {
			var req verifyRequest
			r.Body = io.NopCloser(bytes.NewReader(body))
			if err := api.DecodeJSON(w, r, maxJSON, &req); err != nil {
				return "", err
			}
			if req.QRText == nil {
				return "", api.Invalid("qr_text is required", api.FieldError{Field: "qr_text", Reason: "required"})
			}
			raw = *req.QRText
		}
		text := CleanText(raw)
		if text == "" {
			return "", api.Invalid("qr_text is empty", api.FieldError{Field: "qr_text", Reason: "empty"})
		}
		return text, nil
	case mt == "multipart/form-data":
		// Bound the uploads held in memory before reading one.
		select {
		case h.uploads <- struct{}{}:
			defer func() { <-h.uploads }()
		default:
			return "", busy("too many images being uploaded and decoded; retry shortly")
		}
		img, err := h.readImage(w, r, params["boundary"])
		if err != nil {
			return "", err
		}
		return h.decodeImage(r.Context(), img)
	}
	return "", api.Errorf(api.KindUnsupportedMediaType, "content type %q, want application/json or multipart/form-data", mt)
}

// readBody reads at most max+1 bytes of the request body, in one buffer
// sized by Content-Length when the client sent it.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= max {
		buf := make([]byte, n, n+1)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, max+1))
}

// plainQRText returns the text of a body that is exactly {"qr_text":"…"}
// around a string of printable ASCII without escapes, which is what every
// client sends; the strict decoder handles anything else, with the same
// result for these bodies. It saves the JSON decoder's reflection on the
// hot path.
func plainQRText(body []byte) (string, bool) {
	const prefix, suffix = `{"qr_text":"`, `"}`
	b := bytes.TrimSpace(body)
	if len(b) < len(prefix)+len(suffix) || !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(suffix)) {
		return "", false
	}
	s := b[len(prefix) : len(b)-len(suffix)]
	i := 0
	for ; i+8 <= len(s) && printable8(binary.LittleEndian.Uint64(s[i:])); i += 8 {
	}
	for _, c := range s[i:] {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(s), true
}

// printable8 reports whether each of the eight bytes of w is printable
// ASCII (0x20 to 0x7e) and neither '"' nor '\\'. (With no byte of 0x80 or
// above, x - 0x20…20 borrows, and (x - 0x01…01) &^ x sets a byte's top
// bit, exactly when some byte is below 0x20, or zero.)
func printable8(w uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) bool { return (x-ones)&^x&tops != 0 }
	return w&tops == 0 && (w-0x20*ones)&^w&tops == 0 && !zero(w^'"'*ones) && !zero(w^'\\'*ones) && !zero(w^0x7f*ones)
}

// CleanText removes what scanners add around a QR text: one trailing line
// ending (CR LF, LF or CR) and surrounding spaces and tabs.
func CleanText(s string) string {
	s = strings.Trim(s, " \t")
	switch {
	case strings.HasSuffix(s, "\r\n"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "\n"), strings.HasSuffix(s, "\r"):
		s = s[:len(s)-1]
	}
	return strings.Trim(s, " \t")
}

// readImage reads the one part named "image" of a multipart body.
func (h *Handler) readImage(w http.ResponseWriter, r *http.Request, boundary string) ([]byte, error) {
	if boundary == "" {
		return nil, api.Errorf(api.KindBadRequest, "multipart/form-data without a boundary")
	}
	body := http.MaxBytesReader(w, r.Body, h.cfg.MaxImage+64<<10)
	mr := multipart.NewReader(body, boundary)
	tooLarge := &api.Error{Kind: api.KindTooLarge, Detail: fmt.Sprintf("image exceeds %d bytes", h.cfg.MaxImage)}
	var img []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge
			}
			return nil, api.Errorf(api.KindBadRequest, "malformed multipart body")
		}
		name := part.FormName()
		if name != "image" {
			part.Close()
			return nil, api.Invalid("unknown form field", api.FieldError{Field: name, Reason: "unknown field; send only image"})
		}
		if img != nil {
			part.Close()
			return nil, api.Invalid("more than one image", api.FieldError{Field: "image", Reason: "send one image"})
		}
		img, err = io.ReadAll(io.LimitReader(part, h.cfg.MaxImage+1))
		part.Close()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe) || int64(len(img)) > h.cfg.MaxImage:
			return nil, tooLarge
		case err != nil:
			return nil, api.Errorf(api.KindBadRequest, "malformed multipart body")
		}
		if img == nil {
			img = []byte{}
		}
	}
	if len(img) == 0 {
		return nil, api.Invalid("image is required", api.FieldError{Field: "image", Reason: "required: a PNG or JPEG photo of the QR code"})
	}
	return img, nil
}

// busy is the answer when no decoder or upload slot is free.
func busy(detail string) error {
	return &api.Error{Kind: api.KindUnavailable, Detail: detail, RetryAfter: time.Second}
}

// decodeImage reads the QR code of an image, a few images at a time: it
// checks the header (qr.Inspect), then waits at most decodeWait for a
// decoder and for the memory the image needs.
func (h *Handler) decodeImage(ctx context.Context, img []byte) (string, error) {
	field := func(reason string, err error) error {
		return &api.Error{Kind: api.KindValidation, Detail: "no usable QR code in the image",
			Fields: []api.FieldError{{Field: "image", Reason: reason}}, Err: err}
	}
	classify := func(err error) error {
		switch {
		case errors.Is(err, qr.ErrImageTooLarge):
			return &api.Error{Kind: api.KindTooLarge, Err: err, Detail: fmt.Sprintf(
				"image too large to decode: at most %d pixels and %d MiB of decoded pixels (a 16-bit colour PNG at most 8 megapixels); a photo of a QR code needs far less",
				qr.MaxPixels, qr.MaxDecodedBytes>>20)}
		case errors.Is(err, qr.ErrNoCode):
			return field("no QR code found", err)
		case errors.Is(err, qr.ErrUnreadable):
			return field("QR code found but unreadable: hold it flat, closer and in focus", err)
		case errors.Is(err, qr.ErrUnsupportedFormat):
			return field("not a PNG or JPEG image", err)
		}
		return field("not a readable PNG or JPEG image", err)
	}
	info, err := qr.Inspect(img)
	if err != nil {
		return "", classify(err)
	}
	wctx, cancel := context.WithTimeout(ctx, decodeWait)
	defer cancel()
	select {
	case h.decoders <- struct{}{}:
		defer func() { <-h.decoders }()
	case <-wctx.Done():
		return "", busy("too many images being decoded; retry shortly")
	}
	need := min(info.Memory, h.cfg.DecodeMemory)
	if err := h.decodeMem.Acquire(wctx, need); err != nil {
		return "", busy("too many images being decoded; retry shortly")
	}
	defer h.decodeMem.Release(need)
	text, err := qr.DecodeBytes(img)
	if err != nil {
		return "", classify(err)
	}
	text = CleanText(text)
	if len(text) > format.MaxQRText {
		text = text[:format.MaxQRText+1] // reported as too large by the verifier
	}
	return text, nil
}

// cacheCollector exports a verifier cache's state at each scrape.
type cacheCollector struct {
	stats func() verifier.CacheStats
	now   func() time.Time
}

var (
	listAgeDesc = prometheus.NewDesc("elicence_verifier_status_list_age_seconds",
		"Age of each held status list (now minus its signed issued-at).", []string{"issuer", "list"}, nil)
	streamDesc = prometheus.NewDesc("elicence_verifier_stream_connected",
		"Revocation event streams connected now.", nil, nil)
	streamsDesc = prometheus.NewDesc("elicence_verifier_streams",
		"Revocation event streams configured.", nil, nil)
	trustSeqDesc = prometheus.NewDesc("elicence_verifier_trust_list_sequence",
		"Sequence of the trust list held (0: none).", nil, nil)
	trustNextDesc = prometheus.NewDesc("elicence_verifier_trust_list_next_update_seconds",
		"Seconds until the held trust list's next update (negative: stale).", nil, nil)
	fetchDesc = prometheus.NewDesc("elicence_verifier_fetches_total",
		"Trust and status list fetches by result.", []string{"result"}, nil)
	eventsDesc = prometheus.NewDesc("elicence_verifier_stream_events_total",
		"Status events applied from the event streams.", nil, nil)
)

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{listAgeDesc, streamDesc, streamsDesc, trustSeqDesc, trustNextDesc, fetchDesc, eventsDesc} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	now := c.now()
	for _, l := range s.Lists {
		ch <- prometheus.MustNewConstMetric(listAgeDesc, prometheus.GaugeValue, now.Sub(l.IssuedAt).Seconds(), l.Issuer, l.List)
	}
	ch <- prometheus.MustNewConstMetric(streamDesc, prometheus.GaugeValue, float64(s.StreamsConnected))
	ch <- prometheus.MustNewConstMetric(streamsDesc, prometheus.GaugeValue, float64(s.Streams))
	ch <- prometheus.MustNewConstMetric(trustSeqDesc, prometheus.GaugeValue, float64(s.TrustSequence))
	if s.TrustSequence != 0 {
		ch <- prometheus.MustNewConstMetric(trustNextDesc, prometheus.GaugeValue, s.TrustNextUpdate.Sub(now).Seconds())
	}
	ok := s.Fetches - min(s.Fetches, s.Errors+s.NotModified)
	ch <- prometheus.MustNewConstMetric(fetchDesc, prometheus.CounterValue, float64(ok), "ok")
	ch <- prometheus.MustNewConstMetric(fetchDesc, prometheus.CounterValue, float64(s.NotModified), "not_modified")
	ch <- prometheus.MustNewConstMetric(fetchDesc, prometheus.CounterValue, float64(s.Errors), "error")
	ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(s.Events))
}

// memoCollector exports the signature memo's counters at each scrape.
type memoCollector struct{ m *verifier.SignatureMemo }

var (
	memoDesc = prometheus.NewDesc("elicence_verifier_signature_memo_total",
		"Signature checks answered by the signature memo (hit) or by SM2 verification (miss).", []string{"result"}, nil)
	memoEntriesDesc = prometheus.NewDesc("elicence_verifier_signature_memo_entries",
		"Verified signatures the memo holds now.", nil, nil)
)

func (memoCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- memoDesc
	ch <- memoEntriesDesc
}

func (c memoCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	ch <- prometheus.MustNewConstMetric(memoDesc, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(memoDesc, prometheus.CounterValue, float64(s.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(memoEntriesDesc, prometheus.GaugeValue, float64(s.Entries))
}
