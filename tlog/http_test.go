package tlog_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"elicence/tlog"

	"github.com/transparency-dev/merkle/proof"
)

// TestHTTPTiles: a verifier gets the same proofs over HTTP from the static
// blobs the handler serves, with immutable caching on tiles and
// revalidation on the checkpoint.
func TestHTTPTiles(t *testing.T) {
	ctx := context.Background()
	d := department(t)
	s, data := logOf(t, testOrigin, 300, leafN)
	cp := signedCheckpoint(t, s, d)
	h := &tlog.Handler{Reader: s, Origin: testOrigin, Checkpoint: func(context.Context) ([]byte, error) { return cp, nil }}
	mux := http.NewServeMux()
	mux.Handle("/tlog/11000000/", http.StripPrefix("/tlog/11000000/", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/tlog/11000000/")
	f := tlog.HTTPFetchers{Client: srv.Client(), Base: base}

	got, err := f.Checkpoint(ctx)
	if err != nil || string(got) != string(cp) {
		t.Fatalf("checkpoint: %v", err)
	}
	opened, err := tlog.OpenCheckpoint(got, testOrigin, d.verifier)
	if err != nil {
		t.Fatal(err)
	}
	pb := tlog.NewProofBuilder(opened.Size, f.Tile)
	direct := tlog.NewProofBuilder(300, fetcherOf(s, testOrigin))
	for _, i := range []uint64{0, 1, 255, 256, 299} {
		p, err := pb.InclusionProof(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := direct.InclusionProof(ctx, i)
		if !equalProofs(p, q) {
			t.Fatalf("proof of %d over HTTP differs", i)
		}
		if err := proof.VerifyInclusion(tlog.Hasher, i, 300, refLeafHash(data[i]), p, opened.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := f.EntryBundle(ctx, 1, 44); err != nil {
		t.Fatal(err)
	} else if ls, err := tlog.ParseEntryBundle(b); err != nil || len(ls) != 44 {
		t.Fatalf("entry bundle: %d, %v", len(ls), err)
	}
	if _, err := f.Tile(ctx, 0, 2, 0); !errors.Is(err, tlog.ErrNotFound) {
		t.Errorf("tile beyond the tree: %v", err)
	}

	resp, err := srv.Client().Get(srv.URL + "/tlog/11000000/tile/0/000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != tlog.ImmutableCacheControl {
		t.Errorf("tile Cache-Control %q", cc)
	}
	resp, _ = srv.Client().Get(srv.URL + "/tlog/11000000/checkpoint")
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.Header.Get("Cache-Control") != tlog.CheckpointCacheControl || etag == "" {
		t.Errorf("checkpoint headers %v", resp.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/tlog/11000000/checkpoint", nil)
	req.Header.Set("If-None-Match", etag)
	resp, _ = srv.Client().Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %s", resp.Status)
	}
	for _, path := range []string{"tile/0/0", "tile/0/000.p/0", "nothing"} {
		resp, _ := srv.Client().Get(srv.URL + "/tlog/11000000/" + path)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s", path, resp.Status)
		}
	}
	resp, _ = srv.Client().Post(srv.URL+"/tlog/11000000/checkpoint", "text/plain", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}
}
