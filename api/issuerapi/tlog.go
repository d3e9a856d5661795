package issuerapi

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"elicence/api"
	"elicence/issuer"
	"elicence/issuer/store"
	"elicence/tlog"
)

// issuanceLog serves the departments' issuance logs under /tlog/<code>/
// (docs/FORMAT.md §17): checkpoint, tile/…, tile/entries/… (C2SP
// tlog-tiles, by tlog.Handler), checkpoint/<size> and lookup/<leaf hash>.
// They are public and static: every answer but the latest checkpoint and
// a lookup not yet checkpointed is immutable, so any CDN may cache them.
type issuanceLog struct{ a *API }

// Routes returns the router mounted at /tlog.
func (rs issuanceLog) Routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(api.NotFound)
	r.MethodNotAllowed(api.MethodNotAllowed)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r.MethodFunc(m, "/{dept}/checkpoint", rs.blobs)
		r.MethodFunc(m, "/{dept}/tile/*", rs.blobs)
		r.MethodFunc(m, "/{dept}/checkpoint/{size}", rs.checkpointOfSize)
		r.MethodFunc(m, "/{dept}/lookup/{hash}", rs.lookup)
	}
	return r
}

// noLog answers a department without a log.
func (rs issuanceLog) noLog(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, issuer.ErrNoLog) {
		api.WriteError(w, r, api.Errorf(api.KindNotFound, "department %q has no issuance log", chi.URLParam(r, "dept")))
		return
	}
	rs.a.writeError(w, r, err)
}

// blobs serves the latest checkpoint, tiles and entry bundles through
// tlog.Handler, turning its errors into problem details.
func (rs issuanceLog) blobs(w http.ResponseWriter, r *http.Request) {
	dept := chi.URLParam(r, "dept")
	origin, reader, err := rs.a.svc.Log.LogReader(r.Context(), dept)
	if err != nil {
		rs.noLog(w, r, err)
		return
	}
	h := &tlog.Handler{Reader: reader, Origin: origin, Checkpoint: func(ctx context.Context) ([]byte, error) {
		b, err := rs.a.svc.Log.LatestCheckpoint(ctx, dept)
		if errors.Is(err, store.ErrNotFound) {
			return nil, tlog.ErrNotFound
		}
		return b, err
	}}
	http.StripPrefix("/tlog/"+dept, h).ServeHTTP(&problemWriter{ResponseWriter: w, r: r}, r)
}

// problemWriter replaces the plain-text error bodies of tlog.Handler by
// problem details.
type problemWriter struct {
	http.ResponseWriter
	r      *http.Request
	failed bool
}

func (p *problemWriter) WriteHeader(status int) {
	switch status {
	case http.StatusNotFound:
		p.failed = true
		api.WriteError(p.ResponseWriter, p.r, api.Errorf(api.KindNotFound, "the log has no %s (yet)", strings.TrimPrefix(p.r.URL.Path, "/tlog/")))
	case http.StatusServiceUnavailable:
		p.failed = true
		api.WriteError(p.ResponseWriter, p.r, &api.Error{Kind: api.KindUnavailable, Detail: "the issuance log is unavailable, try later", RetryAfter: StoreRetryAfter})
	default:
		p.ResponseWriter.WriteHeader(status)
	}
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if p.failed {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

// checkpointOfSize serves the co-signed checkpoint of exactly that size.
func (rs issuanceLog) checkpointOfSize(w http.ResponseWriter, r *http.Request) {
	s := chi.URLParam(r, "size")
	size, err := strconv.ParseUint(s, 10, 63)
	if err != nil || strconv.FormatUint(size, 10) != s {
		api.WriteError(w, r, api.Invalid("invalid checkpoint size", api.FieldError{Field: "size", Reason: "want a tree size in decimal without leading zeros"}))
		return
	}
	note, err := rs.a.svc.Log.CheckpointOfSize(r.Context(), chi.URLParam(r, "dept"), size)
	if errors.Is(err, issuer.ErrNoLog) {
		rs.noLog(w, r, err)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		api.WriteError(w, r, api.Errorf(api.KindNotFound, "no co-signed checkpoint of size %d", size))
		return
	}
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", tlog.ImmutableCacheControl)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(note)
}

// lookupResult is the answer of lookup/<hash>.
type lookupResult struct {
	Index          uint64  `json:"index"`
	CheckpointSize *uint64 `json:"checkpoint_size,omitempty"`
}

// lookup finds a leaf by its leaf hash.
func (rs issuanceLog) lookup(w http.ResponseWriter, r *http.Request) {
	s := chi.URLParam(r, "hash")
	hash, err := hex.DecodeString(s)
	if err != nil || len(hash) != tlog.HashSize || strings.ToLower(s) != s {
		api.WriteError(w, r, api.Invalid("invalid leaf hash", api.FieldError{Field: "hash", Reason: "want the 64 lower-case hex digits of SM3(0x00 ‖ leaf)"}))
		return
	}
	loc, err := rs.a.svc.Log.Lookup(r.Context(), chi.URLParam(r, "dept"), hash)
	if errors.Is(err, issuer.ErrNoLog) {
		rs.noLog(w, r, err)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		api.WriteError(w, r, api.Errorf(api.KindNotFound, "no leaf with hash %s in the log", s))
		return
	}
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	out := lookupResult{Index: loc.Index}
	if loc.Checkpointed {
		out.CheckpointSize = &loc.CheckpointSize
		// The smallest checkpoint that includes the leaf never changes.
		w.Header().Set("Cache-Control", tlog.ImmutableCacheControl)
	} else {
		w.Header().Set("Cache-Control", tlog.CheckpointCacheControl)
	}
	api.WriteJSON(w, http.StatusOK, out)
}
