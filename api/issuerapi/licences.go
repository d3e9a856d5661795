package issuerapi

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/go-chi/chi/v5"

	"elicence/api"
	"elicence/identifier"
	"elicence/issuer"
	"elicence/issuer/store"
	"elicence/qr"
)

// licences is the /v1/licences resource.
type licences struct{ a *API }

// Routes lists the licence endpoints.
func (rs licences) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(rs.a.authenticate)
	r.Post("/", rs.issue)
	r.Get("/", rs.list)
	r.Post("/batch", rs.batch)
	r.Get("/{id}", rs.get)
	r.Get("/{id}/qr.png", rs.qrPNG)
	r.Get("/{id}/qr.svg", rs.qrSVG)
	r.Post("/{id}/revoke", rs.revoke)
	r.Post("/{id}/suspend", rs.suspend)
	r.Post("/{id}/reinstate", rs.reinstate)
	r.Post("/{id}/reissue", rs.reissue)
	r.Post("/{id}/presentations", rs.present)
	r.Post("/{id}/annotated-copies", rs.annotate)
	return r
}

// licenceJSON is a licence as the API answers it. The holder's ID is
// always masked; the full number stays in the store.
type licenceJSON struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Issuer       string    `json:"issuer"`
	Serial       string    `json:"serial"`
	Version      int       `json:"version"`
	HolderName   string    `json:"holder_name"`
	HolderID     string    `json:"holder_id"`
	ValidFrom    string    `json:"valid_from"`
	ValidUntil   *string   `json:"valid_until"`
	IssuedAt     time.Time `json:"issued_at"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	StatusList   string    `json:"status_list"`
	StatusIndex  int       `json:"status_index"`
	Supersedes   string    `json:"supersedes,omitempty"`
	QRText       string    `json:"qr_text"`
	Links        struct {
		QRPNG string `json:"qr_png"`
		QRSVG string `json:"qr_svg"`
	} `json:"links"`
}

// chinaTime is the zone in which licence dates are written (identifier.ChinaTime).
var chinaTime = identifier.ChinaTime()

// validityDates returns the first and last day of validity (China time).
func validityDates(l store.Licence) (string, *string) {
	from := l.ValidFrom.In(chinaTime).Format(time.DateOnly)
	if l.ValidUntil.IsZero() {
		return from, nil
	}
	until := l.ValidUntil.In(chinaTime).AddDate(0, 0, -1).Format(time.DateOnly)
	return from, &until
}

// qrText returns the static QR text of a licence's credential.
// qrText is the licence's QR text: a QR URL of the public verification
// page carrying the credential (issuer.Service.QRText).
func (a *API) qrText(l store.Licence) string {
	return a.svc.CredentialQRText(l.Credential)
}

// maskedHolder returns the holder code as it may be shown.
func maskedHolder(l store.Licence) string {
	return identifier.MaskHolder(issuer.HolderKind(l.HolderKind).Identifier(), l.HolderCode)
}

func (a *API) toJSON(l store.Licence) licenceJSON {
	j := licenceJSON{
		ID: l.ID, Type: l.TypeCode, Issuer: l.DepartmentCode, Serial: issuer.FormatSerial(l.Serial), Version: l.Version,
		HolderName: l.HolderName, HolderID: maskedHolder(l), IssuedAt: l.IssuedAt.UTC(), Status: l.Status.String(),
		StatusReason: l.StatusReason, StatusList: l.StatusListID, StatusIndex: l.StatusIndex, Supersedes: l.Supersedes,
		QRText: a.qrText(l),
	}
	j.ValidFrom, j.ValidUntil = validityDates(l)
	base := "/v1/licences/" + url.PathEscape(l.ID)
	j.Links.QRPNG, j.Links.QRSVG = base+"/qr.png", base+"/qr.svg"
	return j
}

func (rs licences) issue(w http.ResponseWriter, r *http.Request) {
	var req issuer.Request
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &req); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	l, replayed, err := rs.a.svc.Licences.Issue(r.Context(), principal(r), req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/licences/"+url.PathEscape(l.ID))
	api.WriteJSON(w, http.StatusCreated, rs.a.toJSON(l))
}

func (rs licences) get(w http.ResponseWriter, r *http.Request) {
	l, err := rs.a.svc.Licences.Licence(r.Context(), principal(r), chi.URLParam(r, "id"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, rs.a.toJSON(l))
}

func (rs licences) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := store.LicenceQuery{TypeCode: q.Get("type"), HolderCode: q.Get("holder_id"), Cursor: q.Get("cursor")}
	var errs []api.FieldError
	if s := q.Get("status"); s != "" {
		st, ok := map[string]store.Status{"valid": store.StatusValid, "revoked": store.StatusRevoked, "suspended": store.StatusSuspended}[s]
		if !ok {
			errs = append(errs, api.FieldError{Field: "status", Reason: "want valid, revoked or suspended"})
		}
		lq.Status = &st
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageSize {
			errs = append(errs, api.FieldError{Field: "limit", Reason: "want 1 to " + strconv.Itoa(store.MaxPageSize)})
		}
		lq.Limit = n
	}
	if len(errs) > 0 {
		rs.a.writeError(w, r, api.Invalid("invalid query parameters", errs...))
		return
	}
	page, next, err := rs.a.svc.Licences.List(r.Context(), principal(r), lq)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	out := struct {
		Licences   []licenceJSON `json:"licences"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}{Licences: make([]licenceJSON, len(page)), NextCursor: next}
	for i, l := range page {
		out.Licences[i] = rs.a.toJSON(l)
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, out)
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (rs licences) changeStatus(w http.ResponseWriter, r *http.Request, to store.Status, bodyOptional bool) {
	var body reasonBody
	if !(bodyOptional && r.ContentLength == 0) {
		if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &body); err != nil {
			rs.a.writeError(w, r, err)
			return
		}
	}
	l, err := rs.a.svc.Licences.ChangeStatus(r.Context(), principal(r), chi.URLParam(r, "id"), to, body.Reason)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, rs.a.toJSON(l))
}

func (rs licences) revoke(w http.ResponseWriter, r *http.Request) {
	rs.changeStatus(w, r, store.StatusRevoked, false)
}

func (rs licences) suspend(w http.ResponseWriter, r *http.Request) {
	rs.changeStatus(w, r, store.StatusSuspended, false)
}

func (rs licences) reinstate(w http.ResponseWriter, r *http.Request) {
	rs.changeStatus(w, r, store.StatusValid, true)
}

func (rs licences) reissue(w http.ResponseWriter, r *http.Request) {
	var req issuer.ReissueRequest
	if r.ContentLength != 0 {
		if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &req); err != nil {
			rs.a.writeError(w, r, err)
			return
		}
	}
	l, replayed, err := rs.a.svc.Licences.Reissue(r.Context(), principal(r), chi.URLParam(r, "id"), req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/licences/"+url.PathEscape(l.ID))
	api.WriteJSON(w, http.StatusCreated, rs.a.toJSON(l))
}

// emptyBody refuses a request body on endpoints that take none.
func emptyBody(w http.ResponseWriter, r *http.Request, max int64) error {
	if r.ContentLength == 0 {
		return nil
	}
	var v struct{}
	return api.DecodeJSON(w, r, max, &v)
}

func (rs licences) present(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r, rs.a.cfg.MaxBody); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	p, err := rs.a.svc.Wallet.Present(r.Context(), principal(r), chi.URLParam(r, "id"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, p)
}

func (rs licences) annotate(w http.ResponseWriter, r *http.Request) {
	req, err := decodeAnnotation(w, r, rs.a.cfg.MaxBody)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	c, err := rs.a.svc.Wallet.Annotate(r.Context(), principal(r), chi.URLParam(r, "id"), req)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, c)
}

// decodeAnnotation decodes an annotated-copy request, reporting a time
// that does not parse as a validation error of expires_at.
func decodeAnnotation(w http.ResponseWriter, r *http.Request, max int64) (issuer.AnnotationRequest, error) {
	var body struct {
		RelyingDepartment string `json:"relying_department"`
		Purpose           string `json:"purpose"`
		ExpiresAt         string `json:"expires_at"`
		ExpiresInDays     int    `json:"expires_in_days"`
	}
	if err := api.DecodeJSON(w, r, max, &body); err != nil {
		return issuer.AnnotationRequest{}, err
	}
	req := issuer.AnnotationRequest{RelyingDepartment: body.RelyingDepartment, Purpose: body.Purpose, ExpiresInDays: body.ExpiresInDays}
	if body.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, body.ExpiresAt)
		if err != nil {
			return req, api.Invalid("the request is invalid", api.FieldError{Field: "expires_at", Reason: "want an RFC 3339 time"})
		}
		req.ExpiresAt = t
	}
	return req, nil
}

func (rs licences) qrPNG(w http.ResponseWriter, r *http.Request) { rs.qrImage(w, r, "png") }
func (rs licences) qrSVG(w http.ResponseWriter, r *http.Request) { rs.qrImage(w, r, "svg") }

// qrImage renders a licence's static QR code on demand. The image depends
// only on the signed credential, so its ETag is derived from it and the
// answer is immutable; renderings are kept in a small cache.
func (rs licences) qrImage(w http.ResponseWriter, r *http.Request, kind string) {
	l, err := rs.a.svc.Licences.Licence(r.Context(), principal(r), chi.URLParam(r, "id"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	sum := sm3.Sum(append([]byte(kind+":"), l.Credential...))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	img, err := rs.a.qr.get(etag, func() ([]byte, error) {
		text := rs.a.qrText(l)
		if kind == "png" {
			return qr.PNG(text, qr.Options{})
		}
		return qr.SVG(text, qr.Options{Title: l.ID})
	})
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	ct := "image/png"
	if kind == "svg" {
		ct = "image/svg+xml"
	}
	w.Header().Set("Content-Type", ct)
	w.Write(img)
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// qrCache keeps recent QR renderings, evicting at random when full.
type qrCache struct {
	mu  sync.Mutex
	max int
	m   map[string][]byte
}

func newQRCache(max int) *qrCache { return &qrCache{max: max, m: map[string][]byte{}} }

func (c *qrCache) get(key string, render func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := render()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = b
	c.mu.Unlock()
	return b, nil
}

// batch issues licences from an NDJSON or CSV upload and answers one
// NDJSON line per row, then a summary line.
//
// Nothing is written before the upload has been read to its end: Go's
// HTTP/1.1 server discards (or refuses) the unread rest of a request body
// once the answer starts, which lost rows of chunked uploads. Rows issued
// while the upload is still being read are held (as encoded lines) and
// sent once it ends; later ones are streamed batch by batch.
func (rs licences) batch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := issuer.BulkOptions{Type: q.Get("type"), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-ndjson"), strings.HasPrefix(ct, "application/jsonl"):
		opts.Format = issuer.BulkNDJSON
	case strings.HasPrefix(ct, "text/csv"):
		opts.Format = issuer.BulkCSV
	default:
		rs.a.writeError(w, r, api.Errorf(api.KindUnsupportedMediaType, "content type %q, want application/x-ndjson or text/csv", ct))
		return
	}
	if s := q.Get("batch_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > issuer.MaxBulkBatchSize {
			rs.a.writeError(w, r, api.Invalid("invalid query parameters", api.FieldError{Field: "batch_size", Reason: "want 1 to " + strconv.Itoa(issuer.MaxBulkBatchSize)}))
			return
		}
		opts.BatchSize = n
	}
	tooLarge := &api.Error{Kind: api.KindTooLarge, Detail: "upload exceeds " + strconv.FormatInt(rs.a.cfg.MaxBulkBody, 10) + " bytes"}
	if r.ContentLength > rs.a.cfg.MaxBulkBody {
		rs.a.writeError(w, r, tooLarge)
		return
	}
	body := &uploadReader{r: http.MaxBytesReader(w, r.Body, rs.a.cfg.MaxBulkBody), rc: http.NewResponseController(w)}
	bw := bufio.NewWriterSize(w, 32<<10)
	var held bytes.Buffer // lines of rows issued before the upload was read to its end
	enc := json.NewEncoder(&held)
	enc.SetEscapeHTML(false)
	started := false
	lastBatch := 0
	start := func() {
		if started {
			return
		}
		started = true
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		bw.Write(held.Bytes())
		held = bytes.Buffer{}
		enc = json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
	}
	sum, err := rs.a.svc.Licences.IssueBulk(r.Context(), principal(r), body, opts, func(row issuer.BulkRow) error {
		if !body.done.Load() {
			return enc.Encode(row)
		}
		start()
		if row.Batch != lastBatch && lastBatch != 0 {
			bw.Flush()
			http.NewResponseController(w).Flush()
		}
		lastBatch = row.Batch
		return enc.Encode(row)
	})
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = tooLarge
	}
	if err != nil && !started && sum.Issued == 0 {
		// Nothing issued: a plain error, such as 503 with Retry-After
		// while the store is unavailable.
		rs.a.writeError(w, r, err)
		return
	}
	start()
	if err != nil {
		// Some rows are issued: report them, then the failure.
		e := toAPIError(err)
		var ae *api.Error
		detail := "the upload could not be read to the end"
		if errors.As(e, &ae) {
			detail = ae.Detail
		} else {
			api.Logger(r.Context()).Error("bulk issuance", "err", err)
		}
		enc.Encode(map[string]any{"error": map[string]string{"detail": detail}, "summary": sum})
	} else {
		enc.Encode(map[string]any{"summary": sum})
	}
	bw.Flush()
}

// uploadIdle is how long a bulk upload may send nothing before it is
// cut off; the server's ReadTimeout would otherwise bound the whole upload.
const uploadIdle = 30 * time.Second

// uploadReader reads a bulk upload, renewing the read deadline before each
// read and recording when the upload has been read to its end.
type uploadReader struct {
	r    io.Reader
	rc   *http.ResponseController
	done atomic.Bool
}

func (u *uploadReader) Read(p []byte) (int, error) {
	u.rc.SetReadDeadline(time.Now().Add(uploadIdle))
	n, err := u.r.Read(p)
	if err == io.EOF {
		u.done.Store(true)
	}
	return n, err
}
