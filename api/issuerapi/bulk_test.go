package issuerapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// bulkAnswer parses a batch answer: the row lines and the summary.
func bulkAnswer(t *testing.T, body []byte) ([]issuer.BulkRow, issuer.BulkSummary) {
	t.Helper()
	var rows []issuer.BulkRow
	var sum issuer.BulkSummary
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var line struct {
			issuer.BulkRow
			Summary *issuer.BulkSummary `json:"summary"`
			Error   any                 `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		switch {
		case line.Error != nil:
			t.Fatalf("answer reports an error: %s", sc.Text())
		case line.Summary != nil:
			sum = *line.Summary
		default:
			rows = append(rows, line.BulkRow)
		}
	}
	return rows, sum
}

// TestBulk issues NDJSON in batches, all or nothing per batch: the batch
// with a bad row issues nothing and the others are stored, and every row
// is reported in order.
func TestBulk(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		var in strings.Builder
		for i := 1; i <= 25; i++ {
			switch i {
			case 14:
				in.WriteString(strings.Replace(refDriving, citizenID, "350102199003071235", 1) + "\n") // bad check digit
			case 16:
				in.WriteString(`{"type": "11110000MB00000048001", "holder_name": ` + "\n") // malformed line
			default:
				in.WriteString(refDriving + "\n")
			}
		}
		r := e.req("POST", "/v1/licences/batch?batch_size=10", tok, in.String(), "Content-Type", "application/x-ndjson")
		if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		rows, sum := bulkAnswer(t, r.body)
		if len(rows) != 25 {
			t.Fatalf("%d row lines, want 25", len(rows))
		}
		for i, row := range rows {
			want := issuer.RowIssued
			switch {
			case row.Row == 14 || row.Row == 16:
				want = issuer.RowRejected
			case row.Row > 10 && row.Row <= 20:
				want = issuer.RowNotIssued
			}
			if row.Row != i+1 || row.Status != want || row.Batch != i/10+1 {
				t.Errorf("row %d: %+v, want status %s", i+1, row, want)
			}
			if row.Row == 14 && (len(row.Errors) == 0 || row.Errors[0].Field != "holder_id") {
				t.Errorf("row 14 errors %+v", row.Errors)
			}
		}
		if sum.Rows != 25 || sum.Issued != 15 || sum.Rejected != 2 || sum.NotIssued != 8 || sum.Batches != 3 || sum.FailedBatches != 1 {
			t.Errorf("summary %+v", sum)
		}
		ls, _, err := st.ListLicences(context.Background(), store.LicenceQuery{DepartmentCode: issuertest.Dept, Limit: 100})
		if err != nil || len(ls) != 15 {
			t.Fatalf("%d licences stored, want 15 (%v)", len(ls), err)
		}
		stored := map[string]bool{}
		for _, l := range ls {
			stored[l.ID] = true
		}
		for _, row := range rows {
			if (row.Status == issuer.RowIssued) != stored[row.ID] && row.ID != "" {
				t.Errorf("row %d %s: stored %v", row.Row, row.Status, stored[row.ID])
			}
		}

		// CSV with the type as a parameter and a type column that changes.
		csv := "holder_name,holder_id,valid_from,valid_until,lr,ra\n" +
			"福州示例科技有限公司,91350100MA2Y00001H,2024-03-01,长期,张三,福建省福州市鼓楼区示例路1号\n" +
			"福州示例贸易有限公司,91350100MA2Y00002L,2024-03-02,2029-03-01,李五,福建省福州市台江区示例路9号\n"
		r = e.req("POST", "/v1/licences/batch?type="+issuer.TypeBusinessLicence, tok, csv, "Content-Type", "text/csv")
		rows, sum = bulkAnswer(t, r.body)
		if r.status != 200 || sum.Issued != 2 || len(rows) != 2 {
			t.Fatalf("CSV: %d %s", r.status, r.body)
		}
		var got licenceJSON
		e.req("GET", "/v1/licences/"+rows[1].ID, tok, nil).json(t, &got)
		if got.ValidUntil == nil || *got.ValidUntil != "2029-03-01" || got.HolderName != "福州示例贸易有限公司" {
			t.Errorf("CSV licence %+v", got)
		}
		mixed := refDriving + "\n" + refBusiness + "\n" + refDriving + "\n"
		r = e.req("POST", "/v1/licences/batch", tok, mixed, "Content-Type", "application/x-ndjson")
		rows, sum = bulkAnswer(t, r.body)
		if sum.Issued != 3 || sum.Batches != 3 {
			t.Errorf("mixed types: %+v", sum)
		}
		_ = fmt.Sprint(rows)
	})
}
