// Package api is elicence's HTTP edge: JSON and RFC 9457 problem details,
// request decoding with limits, and the middleware every service shares
// (request IDs, logging, metrics, rate limits). Handlers return errors; only
// this package turns them into HTTP responses, so internal details never
// reach a client.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"elicence/identifier"
)

// Kind is the kind of a client-visible error; it decides the HTTP status.
type Kind int

// Error kinds.
const (
	KindInternal Kind = iota
	KindBadRequest
	KindValidation
	KindUnauthorized
	KindForbidden
	KindNotFound
	KindConflict
	KindTooLarge
	KindUnsupportedMediaType
	KindRateLimited
	KindUnavailable
	KindMethodNotAllowed
)

var kindInfo = map[Kind]struct {
	status int
	slug   string
	title  string
}{
	KindInternal:             {http.StatusInternalServerError, "internal", "Internal error"},
	KindBadRequest:           {http.StatusBadRequest, "bad-request", "Bad request"},
	KindValidation:           {http.StatusUnprocessableEntity, "validation", "Validation failed"},
	KindUnauthorized:         {http.StatusUnauthorized, "unauthorized", "Unauthorized"},
	KindForbidden:            {http.StatusForbidden, "forbidden", "Forbidden"},
	KindNotFound:             {http.StatusNotFound, "not-found", "Not found"},
	KindConflict:             {http.StatusConflict, "conflict", "Conflict"},
	KindTooLarge:             {http.StatusRequestEntityTooLarge, "too-large", "Request body too large"},
	KindUnsupportedMediaType: {http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"},
	KindRateLimited:          {http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	KindUnavailable:          {http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	KindMethodNotAllowed:     {http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed"},
}

// ProblemTypeBase prefixes every problem type URI.
const ProblemTypeBase = "https://elicence.example/problems/"

// FieldError is one invalid field and why.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is an error meant for a client: a kind, a safe detail, invalid
// fields, and the cause, which is logged but never sent.
type Error struct {
	Kind   Kind
	Detail string
	Fields []FieldError
	// RetryAfter, when positive, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
	Err        error
}

// Error returns the detail and the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted safe detail.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error listing fields.
func Invalid(detail string, fields ...FieldError) *Error {
	return &Error{Kind: KindValidation, Detail: detail, Fields: fields}
}

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// WriteError renders err as problem details. Errors that are not *Error
// become a 500 whose detail says nothing of the cause; the cause is logged.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Kind: KindInternal, Detail: "the server could not complete the request", Err: err}
	}
	info := kindInfo[e.Kind]
	// A citizen ID typed into a path is echoed by instance and often by
	// the detail ("no licence …"): mask it in both.
	p := Problem{
		Type: ProblemTypeBase + info.slug, Title: info.title, Status: info.status,
		Detail: identifier.RedactCitizenIDs(e.Detail), RequestID: RequestID(r.Context()),
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, FieldError{Field: identifier.RedactCitizenIDs(f.Field), Reason: identifier.RedactCitizenIDs(f.Reason)})
	}
	if r != nil && r.URL != nil {
		p.Instance = identifier.RedactCitizenIDs(r.URL.Path)
	}
	if e.Kind == KindInternal {
		Logger(r.Context()).Error("internal error", "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(info.status)
	json.NewEncoder(w).Encode(p)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// DefaultMaxBody is the default limit on a JSON request body.
const DefaultMaxBody = 64 << 10

// DecodeJSON decodes the request body into v strictly: JSON content type,
// at most max bytes, no unknown fields, one value only. Failures are
// *Error values naming the field and the reason.
func DecodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return Errorf(KindUnsupportedMediaType, "content type %q, want application/json", ct)
	}
	body := http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, max)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err, max)
		}
		return Errorf(KindBadRequest, "request body has more than one JSON value")
	}
	return nil
}

func jsonError(err error, max int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return &Error{Kind: KindTooLarge, Detail: fmt.Sprintf("request body exceeds %d bytes", max)}
	case errors.As(err, &syn):
		return &Error{Kind: KindBadRequest, Detail: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return Invalid("wrong JSON type", FieldError{Field: field, Reason: fmt.Sprintf("want %s, got JSON %s", typ.Type, typ.Value)})
	case errors.Is(err, io.EOF):
		return Errorf(KindBadRequest, "empty request body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(KindBadRequest, "malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid("unknown field", FieldError{Field: name, Reason: "unknown field"})
	}
	return &Error{Kind: KindBadRequest, Detail: "malformed JSON"}
}

// Logger returns the request's logger (with its request ID), or slog's default.
func Logger(ctx interface{ Value(any) any }) *slog.Logger {
	if ctx != nil {
		if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
			return l
		}
	}
	return slog.Default()
}
