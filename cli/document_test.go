package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if code, out := run("--file", changed, "--sig", sig); code != ExitFailed || !strings.Contains(out, "HASH_FAILURE") {
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
