package tlog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// Cache-Control values for what [Handler] serves: tiles and entry bundles
// never change, the checkpoint does at the signing cadence.
const (
	ImmutableCacheControl  = "public, max-age=31536000, immutable"
	CheckpointCacheControl = "public, no-cache"
)

// Handler serves one log as C2SP tlog-tiles static blobs: checkpoint,
// tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>], relative to where it is
// mounted (use [http.StripPrefix]). Any CDN can cache what it serves by its
// Cache-Control headers.
type Handler struct {
	// Reader reads the committed log.
	Reader Reader
	// Origin names the log.
	Origin string
	// Checkpoint returns the latest co-signed checkpoint note.
	Checkpoint func(ctx context.Context) ([]byte, error)
}

// ServeHTTP serves GET and HEAD of the checkpoint, tiles and entry bundles.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == CheckpointPath {
		if h.Checkpoint == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		b, err := h.Checkpoint(r.Context())
		if err != nil {
			h.fail(w, err)
			return
		}
		sum := sm3.Sum(b)
		etag := `"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("Cache-Control", CheckpointCacheControl)
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b)
		return
	}
	level, index, p, entries, err := ParseTilePath(path)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var b []byte
	if entries {
		b, err = ReadEntryBundle(r.Context(), h.Reader, h.Origin, index, p)
	} else {
		b, err = ReadTile(r.Context(), h.Reader, h.Origin, level, index, p)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", ImmutableCacheControl)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}

// fail answers 404 for what the log does not have and 503 for anything
// else, with no detail: the cause stays in the server.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	http.Error(w, "log unavailable, try later", http.StatusServiceUnavailable)
}

// maxBlob bounds what the HTTP fetchers read: a full tile is 8 KiB, a full
// entry bundle 9 KiB, a checkpoint with 16 cosignatures well under 64 KiB.
const maxBlob = 64 << 10

// HTTPFetchers fetch a log's blobs from base (the URL prefix its
// [Handler] is mounted at) with client.
type HTTPFetchers struct {
	Client *http.Client
	Base   *url.URL
}

func (f HTTPFetchers) get(ctx context.Context, path string) ([]byte, error) {
	u := f.Base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("get %s: %w", path, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("get %s: %s", path, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBlob+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	if len(b) > maxBlob {
		return nil, fmt.Errorf("get %s: larger than %d bytes", path, maxBlob)
	}
	return b, nil
}

// Tile is a [TileFetcher] over HTTP.
func (f HTTPFetchers) Tile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return f.get(ctx, TilePath(level, index, p))
}

// EntryBundle is an [EntryBundleFetcher] over HTTP.
func (f HTTPFetchers) EntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return f.get(ctx, EntriesPath(index, p))
}

// Checkpoint fetches the latest checkpoint note.
func (f HTTPFetchers) Checkpoint(ctx context.Context) ([]byte, error) {
	return f.get(ctx, CheckpointPath)
}
