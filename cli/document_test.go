package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/api/issuerapi"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// elicence verify --file DOC [--sig DOC.p7s] verifies a signed document
// offline with the trust list and status list files: exit 0 for a good
// file, 1 for a changed one, 3 for --sig without --file.
func TestVerifyDocumentFile(t *testing.T) {
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{})
	ctx := context.Background()
	me := &issuer.Principal{TokenID: "t", Department: issuertest.Dept, Scopes: []store.Scope{store.ScopeIssue}}
	content := []byte("兹证明……\n")
	sd, err := f.Service.Documents.Sign(ctx, me, issuer.SignRequest{Title: "证明", Number: "闽证〔2026〕7号", Content: content}, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tl, err := f.Service.Publication.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := f.Service.Publication.StatusList(ctx, sd.Document.StatusListID)
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"verify", "--trust", write("trust.cbor", tl.Body), "--status", write("status.cbor", sl.Body),
		"--root", write("root.crt", f.Service.Publication.RootCertificate())}
	doc, sig := write("proof.txt", content), write("proof.txt.p7s", sd.File)
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, &Env{Stdout: &out, Stderr: &errb, Now: time.Now}, append(append([]string{}, common...), args...))
		return code, out.String() + errb.String()
	}
	if code, out := run("--file", doc, "--sig", sig); code != ExitOK || !strings.Contains(out, "证明 闽证〔2026〕7号") || !strings.Contains(out, "通过 PASSED") {
		t.Errorf("good file: %d\n%s", code, out)
	}
	changed := write("changed.txt", append(bytes.Clone(content), 'x'))
	if code, out := run("--file", changed, "--sig", sig); code != ExitFailed || !strings.Contains(out, "HASH_FAILURE") || !strings.Contains(out, "文件内容与签名不符") {
		t.Errorf("changed file: %d\n%s", code, out)
	}
	if code, out := run("--sig", sig); code != ExitUsage {
		t.Errorf("--sig alone: %d\n%s", code, out)
	}
	if code, out := run("--file", doc, "LD2:X"); code != ExitUsage {
		t.Errorf("two sources: %d\n%s", code, out)
	}
	// The receipt's QR text verifies the same way.
	if code, out := run(sd.QRText); code != ExitOK || !strings.Contains(out, "文件 document: 证明") {
		t.Errorf("receipt text: %d\n%s", code, out)
	}
}

// elicence sign signs a file through a running issuer and writes the
// .p7s; verify --file accepts it; document rescind rescinds it, after
// which verify --file says REVOKED (exit 1).
func TestSignAndRescind(t *testing.T) {
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{})
	srv := httptest.NewServer(issuerapi.New(issuerapi.Config{Service: f.Service, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	now := time.Now()
	tok := f.Tokens[issuertest.TokenIssuer]
	dir := t.TempDir()
	file := filepath.Join(dir, "notice.txt")
	os.WriteFile(file, []byte("通知\n"), 0o600)
	r := mustRun(t, now, "sign", "--server", srv.URL, "--token", tok, "--title", "通知", "--number", "闽〔2026〕3号", file)
	id := ""
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "document "); ok {
			id = v
		}
	}
	sig := file + ".p7s"
	if _, err := os.Stat(sig); err != nil || id == "" {
		t.Fatalf("sign wrote no .p7s or no id: %v\n%s", err, r.stdout)
	}
	ctx := context.Background()
	files := func() []string {
		tl, _ := f.Service.Publication.TrustList(ctx)
		d, err := f.Service.Store().Document(ctx, issuertest.Dept, id)
		if err != nil {
			t.Fatal(err)
		}
		sl, err := f.Service.Publication.StatusList(ctx, d.StatusListID)
		if err != nil {
			t.Fatal(err)
		}
		w := func(n string, b []byte) string {
			p := filepath.Join(dir, n)
			os.WriteFile(p, b, 0o600)
			return p
		}
		return []string{"verify", "--trust", w("t.cbor", tl.Body), "--status", w("s.cbor", sl.Body), "--root", w("root.crt", f.Service.Publication.RootCertificate()),
			"--file", file, "--sig", sig}
	}
	mustRun(t, now, files()...)
	if r := elicence(t, now, "sign", "--server", srv.URL, "--token", tok, file); r.code != ExitUsage {
		t.Errorf("sign without --title: %d", r.code)
	}
	if r := elicence(t, now, "sign", "--server", srv.URL, "--token", f.Tokens[issuertest.TokenReader], "--title", "x", file); r.code != ExitError || !strings.Contains(r.stderr, "403") {
		t.Errorf("sign with a read token: %d %s", r.code, r.stderr)
	}
	if r := elicence(t, now, "document", "rescind", "--server", srv.URL, "--token", tok, id); r.code != ExitUsage {
		t.Errorf("rescind without a reason: %d", r.code)
	}
	rr := mustRun(t, now, "document", "rescind", "--server", srv.URL, "--token", tok, "--reason", "withdrawn", id)
	if !strings.Contains(rr.stdout, "rescinded (withdrawn)") {
		t.Errorf("rescind output %q", rr.stdout)
	}
	if r := elicence(t, now, files()...); r.code != ExitFailed || !strings.Contains(r.stdout, "REVOKED") {
		t.Errorf("verify after rescission: %d\n%s", r.code, r.stdout)
	}
}
