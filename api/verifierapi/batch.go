package verifierapi

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"elicence/api"
	"elicence/format"
	"elicence/verifier"
)

// Limits of a batch request.
const (
	// MaxBatch is the most QR texts one POST /v1/verify/batch verifies.
	MaxBatch = 100
	// maxBatchBody bounds a batch request: MaxBatch of the longest QR
	// texts with their quotes and commas, and room around them.
	maxBatchBody = MaxBatch*(format.MaxQRText+3) + 1<<10
)

// Header values set on every report, shared (net/http only reads them).
var (
	headerJSON    = []string{"application/json"}
	headerNoStore = []string{"no-store"}
)

// reportBufs holds the buffers reports are encoded into.
var reportBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// writeJSON answers 200 with the JSON body that fill appends to a pooled
// buffer, with its Content-Length, so that net/http neither chunks it nor
// copies it again.
func writeJSON(w http.ResponseWriter, fill func([]byte) []byte) {
	bp := reportBufs.Get().(*[]byte)
	b := append(fill((*bp)[:0]), '\n')
	hd := w.Header()
	hd["Content-Type"] = headerJSON
	hd["Cache-Control"] = headerNoStore
	hd["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		reportBufs.Put(bp)
	}
}

var (
	headerCacheControl = []byte("Cache-Control")
	valueJSON          = []byte(headerJSON[0])
	valueNoStore       = []byte(headerNoStore[0])
)

// writeFastJSON answers rc with what fill appends and a final newline,
// with the headers writeJSON sets, and returns the body's size.
func writeFastJSON(rc *fasthttp.RequestCtx, fill func([]byte) []byte) int {
	bp := reportBufs.Get().(*[]byte)
	b := append(fill((*bp)[:0]), '\n')
	rc.Response.Header.SetContentTypeBytes(valueJSON)
	rc.Response.Header.SetCanonical(headerCacheControl, valueNoStore)
	rc.Response.SetBody(b)
	n := len(b)
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		reportBufs.Put(bp)
	}
	return n
}

// count records a report in the verifications metric.
func (h *Handler) count(rep *verifier.Report) {
	if rep.Indication != verifier.Passed || rep.SubIndication != "" {
		h.verified.WithLabelValues(string(rep.Indication), string(rep.SubIndication)).Inc()
		return
	}
	c := h.passed.Load()
	if c == nil {
		p := h.verified.WithLabelValues(string(verifier.Passed), "")
		c = &p
		h.passed.Store(c)
	}
	(*c).Inc()
}

// batchRequest is the JSON body of POST /v1/verify/batch.
type batchRequest struct {
	QRTexts *[]*string `json:"qr_texts"`
}

// BatchHandler serves POST /v1/verify/batch: up to MaxBatch QR texts in one
// request, each verified exactly as POST /v1/verify verifies one (every
// check, every time), answered as {"reports": […]} in the order sent. It is
// for a relying department's system re-checking the licences it holds.
type BatchHandler struct{ h *Handler }

// Batch returns the handler of POST /v1/verify/batch, sharing h's
// configuration and metrics.
func (h *Handler) Batch() *BatchHandler { return &BatchHandler{h} }

// ServeHTTP verifies the QR texts of a POST request and answers their
// reports with 200 whatever the verdicts; a malformed request is answered
// with problem details naming the field (qr_texts, or qr_texts[i] for one
// text) and the reason, and nothing is verified.
func (b *BatchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		api.MethodNotAllowed(w, r)
		return
	}
	texts, err := readBatch(w, r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	ctx := r.Context()
	reps := make([]*verifier.Report, len(texts))
	passed := 0
	for i, text := range texts {
		reps[i] = verifier.Verify(ctx, text, b.h.cfg.Verify)
		b.h.count(reps[i])
		if reps[i].Indication == verifier.Passed {
			passed++
		}
	}
	if l := api.Logger(ctx); l.Enabled(ctx, slog.LevelInfo) {
		l.Info("verified batch", "texts", len(texts), "passed", passed)
	}
	writeJSON(w, func(out []byte) []byte {
		out = append(out, `{"reports":[`...)
		for i, rep := range reps {
			if i > 0 {
				out = append(out, ',')
			}
			out = rep.AppendJSON(out)
		}
		return append(out, "]}"...)
	})
}

// readBatch returns the cleaned QR texts of a batch request.
func readBatch(w http.ResponseWriter, r *http.Request) ([]string, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, api.Errorf(api.KindUnsupportedMediaType, "content type %q, want application/json", ct)
		}
	}
	body, err := readBody(r, maxBatchBody)
	if err != nil {
		return nil, api.Errorf(api.KindBadRequest, "request body unreadable")
	}
	if len(body) > maxBatchBody {
		return nil, &api.Error{Kind: api.KindTooLarge, Detail: fmt.Sprintf("request body exceeds %d bytes", maxBatchBody)}
	}
	texts, ok := plainBatch(body)
	if !ok {
		var req batchRequest
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := api.DecodeJSON(w, r, maxBatchBody, &req); err != nil {
			return nil, err
		}
		if req.QRTexts == nil {
			return nil, api.Invalid("qr_texts is required", api.FieldError{Field: "qr_texts", Reason: "required: an array of 1 to " + strconv.Itoa(MaxBatch) + " QR texts"})
		}
		if n := len(*req.QRTexts); n > MaxBatch {
			return nil, api.Invalid("too many QR texts", api.FieldError{Field: "qr_texts",
				Reason: fmt.Sprintf("%d texts, at most %d in one request", n, MaxBatch)})
		}
		texts = make([]string, len(*req.QRTexts))
		for i, t := range *req.QRTexts {
			if t == nil {
				return nil, api.Invalid("a QR text is null", api.FieldError{Field: itemField(i), Reason: "required: a string"})
			}
			texts[i] = *t
		}
	}
	switch {
	case len(texts) == 0:
		return nil, api.Invalid("qr_texts is empty", api.FieldError{Field: "qr_texts", Reason: "empty: send 1 to " + strconv.Itoa(MaxBatch) + " QR texts"})
	case len(texts) > MaxBatch:
		return nil, api.Invalid("too many QR texts", api.FieldError{Field: "qr_texts",
			Reason: fmt.Sprintf("%d texts, at most %d in one request", len(texts), MaxBatch)})
	}
	for i, t := range texts {
		if texts[i] = CleanText(t); texts[i] == "" {
			return nil, api.Invalid("a QR text is empty", api.FieldError{Field: itemField(i), Reason: "empty"})
		}
	}
	return texts, nil
}

func itemField(i int) string { return "qr_texts[" + strconv.Itoa(i) + "]" }

// plainBatch returns the texts of a body that is exactly
// {"qr_texts":["…","…",…]} around strings of printable ASCII without
// escapes, as JSON encoders write it; the strict decoder handles anything
// else, with the same result for these bodies.
func plainBatch(body []byte) ([]string, bool) {
	const prefix, suffix = `{"qr_texts":[`, `]}`
	b := bytes.TrimSpace(body)
	if len(b) < len(prefix)+len(suffix) || !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(suffix)) {
		return nil, false
	}
	b = b[len(prefix) : len(b)-len(suffix)]
	if len(b) == 0 {
		return []string{}, true
	}
	texts := make([]string, 0, bytes.Count(b, []byte(`","`))+1)
	for {
		if len(b) < 2 || b[0] != '"' {
			return nil, false
		}
		end := 1
		for end < len(b) && b[end] != '"' {
			if c := b[end]; c < 0x20 || c >= 0x7f || c == '\\' {
				return nil, false
			}
			end++
		}
		if end == len(b) {
			return nil, false
		}
		texts = append(texts, string(b[1:end]))
		b = b[end+1:]
		if len(b) == 0 {
			return texts, true
		}
		if b[0] != ',' {
			return nil, false
		}
		b = b[1:]
	}
}
