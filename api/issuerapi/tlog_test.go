package issuerapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/keys"
	"elicence/tlog"
	"elicence/verifier"
)

// logEnv is an API whose service co-signs checkpoints with a witness key.
func logEnv(t *testing.T, st store.Store) *env {
	w, err := keys.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, st, issuer.Config{Log: issuer.LogConfig{Witness: w, CheckpointInterval: time.Hour}}, Config{})
}

// trustedLog reads the trust list the issuer publishes, checks its root
// signature, and returns what it names for dept's log: origin, URL, and
// the checkpoint key and witness as note verifiers.
func (e *env) trustedLog(dept string) (*format.DepartmentLog, note.Verifier, note.Verifier) {
	e.t.Helper()
	r := e.req("GET", "/v1/trust-list", "", nil)
	if r.status != 200 {
		e.t.Fatalf("trust list: %d %s", r.status, r.body)
	}
	tr, err := verifier.NewTrust(&e.f.Root.Key.PublicKey, r.body, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	d := tr.List.Department(dept)
	if d == nil || d.Log == nil || tr.List.Witness == nil {
		e.t.Fatalf("trust list names no log for %s or no witness", dept)
	}
	vkey := func(name, typ string, spki []byte) string {
		pub, err := keys.ParsePublicKey(spki)
		if err != nil {
			e.t.Fatal(err)
		}
		k, err := tlog.VerifierKey(name, typ, pub)
		if err != nil {
			e.t.Fatal(err)
		}
		return k
	}
	logKey, err := tlog.NewNoteVerifier(vkey(d.Log.Origin, tlog.NoteSigType, d.Log.PublicKey))
	if err != nil {
		e.t.Fatal(err)
	}
	witness, err := tlog.NewCosigVerifier(vkey(tr.List.Witness.Name, tlog.CosigSigType, tr.List.Witness.PublicKey))
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Log, logKey, witness
}

// The issuer serves each department's log under /tlog/<code>/: the
// checkpoint is co-signed by the trust-listed witness, and every licence
// and document receipt it signed — the leaf of the exact envelope inside
// its QR text — is found by lookup and proved included by tiles fetched
// over HTTP (tlog.ProofBuilder, checked by transparency-dev's
// proof.VerifyInclusion) against the trust-listed keys.
func TestIssuanceLogRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := logEnv(t, st)
		ctx := context.Background()
		// Bulk (one batch), single, and a document: three paths.
		var qrs []string
		for i := range 3 {
			body := strings.Replace(refBusiness, "福州示例科技有限公司", fmt.Sprint("福州示例科技有限公司", i), 1)
			qrs = append(qrs, e.issue(body).QRText)
		}
		txt := []byte("兹证明……")
		body, ct := multipartBody(t, map[string]string{"title": "证明"}, "file", "proof.txt", txt)
		p := e.req("POST", "/v1/documents", e.tokens[issuertest.TokenIssuer], body, "Content-Type", ct)
		if p.status != 201 {
			t.Fatalf("sign: %d %s", p.status, p.body)
		}
		qrs = append(qrs, p.header.Get("Elicence-Receipt"))

		// Nothing co-signed yet: the lookup says so, and may change.
		q0, _ := format.ParseQR(qrs[0])
		h0 := tlog.NewLeaf(tlog.KindCredential, q0.Envelope).Hash()
		base := "/tlog/" + issuertest.Dept + "/"
		r := e.req("GET", base+"lookup/"+hex.EncodeToString(h0), "", nil)
		if r.status != 200 || r.header.Get("Cache-Control") != tlog.CheckpointCacheControl || string(r.body) != `{"index":0}`+"\n" && string(r.body) != `{"index":0}` {
			t.Fatalf("lookup before any checkpoint: %d %q %q", r.status, r.header.Get("Cache-Control"), r.body)
		}
		if r := e.req("GET", base+"checkpoint", "", nil); r.status != 404 {
			t.Fatalf("checkpoint before any: %d", r.status)
		}
		if err := e.svc.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}

		lg, logKey, witness := e.trustedLog(issuertest.Dept)
		if lg.Origin != "issuer.test/tlog/"+issuertest.Dept || lg.URL != "http://issuer.test/tlog/"+issuertest.Dept+"/" {
			t.Errorf("trust list names log %q at %q", lg.Origin, lg.URL)
		}
		r = e.req("GET", base+"checkpoint", "", nil)
		if r.status != 200 || r.header.Get("Cache-Control") != tlog.CheckpointCacheControl {
			t.Fatalf("checkpoint: %d %q", r.status, r.header.Get("Cache-Control"))
		}
		cp, err := tlog.OpenCheckpoint(r.body, lg.Origin, logKey, witness)
		if err != nil || len(cp.Cosignatures) != 1 || cp.Size != 4 {
			t.Fatalf("checkpoint %q: %+v, %v", r.body, cp, err)
		}
		if h := e.req("GET", base+fmt.Sprint("checkpoint/", cp.Size), "", nil); h.status != 200 || string(h.body) != string(r.body) || h.header.Get("Cache-Control") != tlog.ImmutableCacheControl {
			t.Errorf("checkpoint/%d: %d %q", cp.Size, h.status, h.header.Get("Cache-Control"))
		}

		u, _ := url.Parse(e.srv.URL + base)
		f := tlog.HTTPFetchers{Client: http.DefaultClient, Base: u}
		pb := tlog.NewProofBuilder(cp.Size, f.Tile)
		for i, qr := range qrs {
			q, err := format.ParseQR(qr)
			if err != nil {
				t.Fatal(err)
			}
			kind := tlog.KindCredential
			if q.Kind == format.KindDocumentReceipt {
				kind = tlog.KindDocumentReceipt
			}
			leaf := tlog.NewLeaf(kind, q.Envelope)
			r := e.req("GET", base+"lookup/"+hex.EncodeToString(leaf.Hash()), "", nil)
			var loc struct {
				Index          uint64  `json:"index"`
				CheckpointSize *uint64 `json:"checkpoint_size"`
			}
			r.json(t, &loc)
			if r.status != 200 || loc.Index != uint64(i) || loc.CheckpointSize == nil || *loc.CheckpointSize != cp.Size || r.header.Get("Cache-Control") != tlog.ImmutableCacheControl {
				t.Fatalf("lookup of object %d: %d %s %q", i, r.status, r.body, r.header.Get("Cache-Control"))
			}
			ip, err := pb.InclusionProof(ctx, loc.Index)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(tlog.Hasher, loc.Index, cp.Size, leaf.Hash(), ip, cp.Hash); err != nil {
				t.Errorf("object %d: %v", i, err)
			}
			bundle, err := f.EntryBundle(ctx, 0, uint8(cp.Size))
			if err != nil || !strings.Contains(string(bundle), string(leaf.Marshal())) {
				t.Errorf("entry bundle lacks leaf %d: %v", i, err)
			}
		}
		if h := e.req("GET", base+tlog.TilePath(0, 0, uint8(cp.Size)), "", nil); h.status != 200 || h.header.Get("Cache-Control") != tlog.ImmutableCacheControl {
			t.Errorf("tile: %d %q", h.status, h.header.Get("Cache-Control"))
		}

		// Another key of the witness's name finds no cosignature of its own.
		other, _ := keys.Generate(rand.Reader)
		vk, _ := tlog.VerifierKey(witness.Name(), tlog.CosigSigType, &other.PublicKey)
		wrong, _ := tlog.NewCosigVerifier(vk)
		if c, err := tlog.OpenCheckpoint(r.body, lg.Origin, logKey, wrong); err != nil || len(c.Cosignatures) != 0 {
			t.Errorf("checkpoint with another witness key: %d cosignatures, %v", len(c.Cosignatures), err)
		}

		for _, c := range []struct {
			path   string
			status int
			field  string
		}{
			{base + "lookup/" + strings.Repeat("0", 64), 404, ""},
			{base + "lookup/" + strings.ToUpper(hex.EncodeToString(h0)), 422, "hash"},
			{base + "lookup/abc", 422, "hash"},
			{base + "checkpoint/99", 404, ""},
			{base + "checkpoint/04", 422, "size"},
			{base + "checkpoint/x", 422, "size"},
			{base + "tile/0/001", 404, ""},
			{base + "tile/9/x", 404, ""},
			{"/tlog/NOPE/checkpoint", 404, ""},
			{"/tlog/nope/lookup/" + hex.EncodeToString(h0), 404, ""},
		} {
			r := e.req("GET", c.path, "", nil)
			pd := r.problem(t)
			if r.status != c.status || (c.field != "" && (len(pd.Errors) == 0 || pd.Errors[0].Field != c.field)) {
				t.Errorf("GET %s: %d %s, want %d (field %q)", c.path, r.status, r.body, c.status, c.field)
			}
		}
	})
}

// A department's log origin is fixed the first time its log is used: an
// issuer restarted under another public URL goes on appending to the same
// log, and its trust list names that origin, served at the new URL.
func TestIssuanceLogOriginStays(t *testing.T) {
	st := issuertest.SQLite(t)
	e := logEnv(t, st)
	e.issue(refBusiness)
	ctx := context.Background()
	before, err := e.svc.Log.Origin(ctx, issuertest.Dept)
	if err != nil || before != "issuer.test/tlog/"+issuertest.Dept {
		t.Fatalf("origin %q, %v", before, err)
	}
	cfg := e.f.Config
	cfg.Publication.PublicURL, cfg.Registry = "https://moved.example/licences", nil
	moved, err := issuer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if o, err := moved.Log.Origin(ctx, issuertest.Dept); err != nil || o != before {
		t.Fatalf("origin after the move %q, %v; want %q", o, err, before)
	}
	p, err := moved.Admin.Authenticate(ctx, e.tokens[issuertest.TokenIssuer])
	if err != nil {
		t.Fatal(err)
	}
	req := issuer.Request{Type: issuer.TypeBusinessLicence, HolderName: "迁址后", HolderID: "91350100MA2Y00001H", ValidFrom: "2024-03-01",
		Fields: map[string]string{"lr": "张三", "ra": "福建省福州市鼓楼区示例路1号", "et": "有限责任公司", "rc": "100万元人民币"}}
	if _, _, err := moved.Licences.Issue(ctx, p, req, ""); err != nil {
		t.Fatal(err)
	}
	if s, err := st.LogState(ctx, before); err != nil || s.Size != 2 {
		t.Fatalf("log %s after the move: size %d, %v; want 2", before, s.Size, err)
	}
	// The other department's log is first used now: the new URL names it.
	if o, err := moved.Log.Origin(ctx, issuertest.Other); err != nil || o != "moved.example/licences/tlog/"+issuertest.Other {
		t.Errorf("new log's origin %q, %v", o, err)
	}
	tl, err := moved.Publication.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := verifier.NewTrust(&e.f.Root.Key.PublicKey, tl.Body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d := tr.List.Department(issuertest.Dept); d.Log == nil || d.Log.Origin != before || d.Log.URL != "https://moved.example/licences/tlog/"+issuertest.Dept+"/" {
		t.Errorf("trust list names %+v", d.Log)
	}
}
