package issuerapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// bulkName is the holder name of row n of a generated upload: every row
// differs, so an answer that gives one row another's licence shows.
func bulkName(n int) string {
	const digits = "〇一二三四五六七八九"
	var b strings.Builder
	b.WriteString("李")
	for _, c := range strconv.Itoa(n) {
		b.WriteString(string([]rune(digits)[c-'0']))
	}
	return b.String()
}

// bulkUpload returns an NDJSON upload of n driving licences.
func bulkUpload(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		b.WriteString(strings.Replace(refDriving, `"李四"`, strconv.Quote(bulkName(i)), 1))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// checkBulkAnswer checks that the answer accounts for each of the n rows
// exactly once, in order, issued, with the row's own digest and a licence
// of its own, and that the licences stored for a sample of rows are those
// rows'.
func checkBulkAnswer(t *testing.T, st store.Store, upload []byte, rows []issuer.BulkRow, sum issuer.BulkSummary) {
	t.Helper()
	digests, err := issuer.BulkDigests(bytes.NewReader(upload), issuer.BulkNDJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	n := len(digests)
	if len(rows) != n || sum.Rows != n || sum.Issued != n {
		t.Fatalf("answer has %d rows, summary %d rows %d issued; the upload has %d", len(rows), sum.Rows, sum.Issued, n)
	}
	ids := map[string]int{}
	for i, r := range rows {
		if r.Row != i+1 || r.Status != issuer.RowIssued || r.Digest != digests[i] {
			t.Fatalf("answer line %d: row %d %s digest %s; want row %d issued digest %s", i+1, r.Row, r.Status, r.Digest, i+1, digests[i])
		}
		if j, dup := ids[r.ID]; dup {
			t.Fatalf("licence %s answered for rows %d and %d", r.ID, j, r.Row)
		}
		ids[r.ID] = r.Row
	}
	step := max(1, n/50)
	for i := 0; i < n; i += step {
		checkRowLicence(t, st, rows[i])
	}
	checkRowLicence(t, st, rows[n-1])
}

func checkRowLicence(t *testing.T, st store.Store, r issuer.BulkRow) {
	t.Helper()
	l, err := st.Licence(context.Background(), issuertest.Dept, r.ID)
	if err != nil {
		t.Fatalf("row %d: licence %s: %v", r.Row, r.ID, err)
	}
	if l.HolderName != bulkName(r.Row) {
		t.Fatalf("row %d answered licence %s, which holds %s, the holder of row %s", r.Row, r.ID, l.HolderName, l.HolderName)
	}
}

// postBulk sends an upload chunked or with a Content-Length.
func postBulk(t *testing.T, e *env, upload []byte, chunked bool, hdr ...string) resp {
	t.Helper()
	var body io.Reader = bytes.NewReader(upload)
	if chunked {
		body = io.MultiReader(body) // no length known: chunked
	}
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/licences/batch", body)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]int64{true: 0, false: int64(len(upload))}[chunked]; req.ContentLength != want {
		t.Fatalf("request length %d, want %d (0: chunked)", req.ContentLength, want)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[issuertest.TokenIssuer])
	req.Header.Set("Content-Type", "application/x-ndjson")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// bulkSizes are the upload sizes tested in make test; ELICENCE_LONG=1
// (make crash) adds the large ones.
func bulkSizes() []int {
	if os.Getenv("ELICENCE_LONG") == "1" {
		return []int{1, 999, 5000, 50_000, 200_000}
	}
	return []int{1, 999, 5000}
}

// TestBulkSizes sends uploads of several sizes, chunked and with a
// Content-Length: every row is read and answered once, with its own
// licence. Before the answer was held until the upload had been read,
// Go's server discarded the unread rest of chunked uploads once the answer
// started, and the rows were lost.
func TestBulkSizes(t *testing.T) {
	backends := issuertest.Backends()
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b.Open(t), issuer.Config{}, Config{})
			for _, n := range bulkSizes() {
				upload := bulkUpload(n)
				for _, chunked := range []bool{true, false} {
					t.Run(fmt.Sprintf("%d/chunked=%v", n, chunked), func(t *testing.T) {
						r := postBulk(t, e, upload, chunked)
						if r.status != http.StatusOK {
							t.Fatalf("status %d: %s", r.status, r.body)
						}
						rows, sum := bulkAnswer(t, r.body)
						checkBulkAnswer(t, e.f.Store, upload, rows, sum)
					})
				}
			}
		})
	}
}

// TestBulkResume sends an upload with an Idempotency-Key, then the same
// upload with more rows: the rows of the first send are answered with the
// same licences, marked replayed, and only the new rows are issued. A row
// changed under the key is refused, and the key is bounded.
func TestBulkResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		full := bulkUpload(30)
		part := full[:bytes.Index(full, []byte(bulkName(13)))]
		part = part[:bytes.LastIndexByte(part[:len(part)-1], '\n')+1] // rows 1 to 12
		r := postBulk(t, e, part, false, "Idempotency-Key", "upload-1")
		if r.status != http.StatusOK {
			t.Fatalf("first send: %d %s", r.status, r.body)
		}
		first, sum := bulkAnswer(t, r.body)
		if len(first) != 12 || sum.Issued != 12 || sum.Replayed != 0 {
			t.Fatalf("first send: %d rows, summary %+v", len(first), sum)
		}
		r = postBulk(t, e, full, true, "Idempotency-Key", "upload-1")
		rows, sum := bulkAnswer(t, r.body)
		checkBulkAnswer(t, st, full, rows, sum)
		if sum.Replayed != 12 {
			t.Errorf("resumed send replayed %d rows, want 12", sum.Replayed)
		}
		for i, row := range rows {
			if i < 12 && (row.ID != first[i].ID || !row.Replayed) {
				t.Errorf("row %d: %s replayed=%v, want %s replayed", row.Row, row.ID, row.Replayed, first[i].ID)
			}
			if i >= 12 && row.Replayed {
				t.Errorf("row %d marked replayed", row.Row)
			}
		}
		page, _, err := st.ListLicences(context.Background(), store.LicenceQuery{DepartmentCode: issuertest.Dept, Limit: 100})
		if err != nil || len(page) != 30 {
			t.Errorf("store holds %d licences (%v), want 30", len(page), err)
		}
		// A row changed under the same key: its batch is not issued.
		changed := bytes.Replace(full, []byte(bulkName(3)), []byte(bulkName(1003)), 1)
		r = postBulk(t, e, changed, false, "Idempotency-Key", "upload-1", "batch_size", "10")
		rows, _ = bulkAnswer(t, r.body)
		if rows[2].Status != issuer.RowNotIssued || !strings.Contains(fmt.Sprint(rows[2].Errors), "differs") {
			t.Errorf("changed row 3: %+v", rows[2])
		}
		r = postBulk(t, e, full, false, "Idempotency-Key", strings.Repeat("k", issuer.MaxBulkKey+1))
		if p := r.problem(t); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "Idempotency-Key") {
			t.Errorf("long key: %d %+v", r.status, p)
		}
	})
}
