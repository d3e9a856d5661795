package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"elicence/api/issuerapi"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

const bulkDriving = `{"type": "11110000MB00000048001", "holder_name": "%s", "holder_id": "350102199003071234", "valid_from": "2024-01-15", "fields": {"cc": "C1", "fi": "2012-01-15"}}`

func bulkName(n int) string {
	const digits = "〇一二三四五六七八九"
	var b strings.Builder
	b.WriteString("王")
	for _, c := range strconv.Itoa(n) {
		b.WriteString(string([]rune(digits)[c-'0']))
	}
	return b.String()
}

func writeUpload(t *testing.T, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, bulkDriving+"\n", bulkName(i))
	}
	p := filepath.Join(t.TempDir(), "rows.ndjson")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkBulkOutput checks bulk-issue's row → identifier lines: one per row,
// in order, each licence distinct and holding its row's holder.
func checkBulkOutput(t *testing.T, f *issuertest.Fixture, stdout string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d output lines, want %d", len(lines), n)
	}
	seen := map[string]bool{}
	step := max(1, n/40)
	for i, line := range lines {
		row, id, ok := strings.Cut(line, "\t")
		if !ok || row != strconv.Itoa(i+1) || seen[id] {
			t.Fatalf("line %d: %q", i+1, line)
		}
		seen[id] = true
		if i%step == 0 || i == n-1 {
			l, err := f.Store.Licence(context.Background(), issuertest.Dept, id)
			if err != nil || l.HolderName != bulkName(i+1) {
				t.Fatalf("row %d → %s: holder %q (%v), want %q", i+1, id, l.HolderName, err, bulkName(i+1))
			}
		}
	}
}

func bulkSizes() []int {
	if os.Getenv("ELICENCE_LONG") == "1" {
		return []int{1, 999, 5000, 50_000, 200_000}
	}
	return []int{1, 999, 5000}
}

// TestBulkIssue runs bulk-issue against a running issuer with uploads of
// several sizes, chunked and with a Content-Length.
func TestBulkIssue(t *testing.T) {
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{})
	srv := httptest.NewServer(issuerapi.New(issuerapi.Config{Service: f.Service, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	now := time.Now()
	for _, n := range bulkSizes() {
		file := writeUpload(t, n)
		for _, chunked := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/chunked=%v", n, chunked), func(t *testing.T) {
				// A key of its own per run: the same file is issued again.
				r := mustRun(t, now, "bulk-issue", "--server", srv.URL, "--token", f.Tokens[issuertest.TokenIssuer],
					"--chunked="+strconv.FormatBool(chunked), "--idempotency-key", fmt.Sprintf("run-%d-%v", n, chunked), file)
				checkBulkOutput(t, f, r.stdout, n)
				if want := fmt.Sprintf("%d rows: %d issued (0 by an earlier send)", n, n); !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q, want %q", r.stderr, want)
				}
			})
		}
	}
}

// TestBulkIssueResumes cuts the issuer's answer off in the middle, twice,
// and answers 503 once: bulk-issue sends the upload again with the same
// key by itself, and in the end every row is issued once.
func TestBulkIssueResumes(t *testing.T) {
	f := issuertest.New(t, issuertest.SQLite(t), issuer.Config{})
	h := issuerapi.New(issuerapi.Config{Service: f.Service, Logger: slog.New(slog.DiscardHandler)})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1, 3: // the answer breaks after its first bytes, as if the issuer were killed
			h.ServeHTTP(&cutWriter{ResponseWriter: w, left: 3000}, r)
			panic(http.ErrAbortHandler)
		case 2:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		default:
			h.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	const n = 2500
	file := writeUpload(t, n)
	r := mustRun(t, time.Now(), "bulk-issue", "--server", srv.URL, "--token", f.Tokens[issuertest.TokenIssuer], "--batch-size", "500", file)
	checkBulkOutput(t, f, r.stdout, n)
	if calls.Load() != 4 || !strings.Contains(r.stderr, "sending the upload again") || !strings.Contains(r.stderr, "by an earlier send") {
		t.Errorf("%d calls, stderr %q", calls.Load(), r.stderr)
	}
	if got := countLicences(t, f); got != n {
		t.Errorf("store holds %d licences, want %d", got, n)
	}
	// The same file again: nothing new is issued.
	r = mustRun(t, time.Now(), "bulk-issue", "--server", srv.URL, "--token", f.Tokens[issuertest.TokenIssuer], file)
	if !strings.Contains(r.stderr, fmt.Sprintf("%d issued (%d by an earlier send)", n, n)) {
		t.Errorf("second run: %q", r.stderr)
	}
}

// cutWriter passes on the first left bytes of an answer and drops the rest.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, http.ErrAbortHandler
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

func (c *cutWriter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

func countLicences(t *testing.T, f *issuertest.Fixture) int {
	n, cursor := 0, ""
	for {
		page, next, err := f.Store.ListLicences(context.Background(), store.LicenceQuery{DepartmentCode: issuertest.Dept, Cursor: cursor, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if next == "" {
			return n
		}
		cursor = next
	}
}
