package issuer

import (
	"testing"
	"time"

	"elicence/issuer/store"
)

// TestRequestOf checks that a stored licence converts back to the request
// that issued it, dates included (the store keeps the exclusive end of
// validity; requests name the last day).
func TestRequestOf(t *testing.T) {
	lt := DemoTypes()[1]
	req := Request{Type: lt.Code, HolderName: "李四", HolderID: "350102199003071234", ValidFrom: "2024-01-15", ValidUntil: "2030-01-14",
		Fields: map[string]string{"cc": "C1", "fi": "2012-01-15"}}
	v, err := req.Validate(&lt, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	l := store.Licence{TypeCode: lt.Code, HolderName: v.HolderName, HolderCode: v.HolderID, ValidFrom: v.From, ValidUntil: v.Until,
		Fields: []byte(`{"cc":"C1","fi":"2012-01-15"}`)}
	got := RequestOf(l)
	if got.ValidFrom != req.ValidFrom || got.ValidUntil != req.ValidUntil || got.Fields["cc"] != "C1" || got.HolderID != req.HolderID {
		t.Errorf("RequestOf = %+v, want %+v", got, req)
	}
	l.ValidUntil = time.Time{}
	if got := RequestOf(l).ValidUntil; got != "长期" {
		t.Errorf("open-ended licence gives valid_until %q, want 长期", got)
	}
}

// TestIssueDetail pins the audit detail of an issuance to the encoding it
// had as a JSON object built from a map (sorted keys), so that entries
// written before and after read alike.
func TestIssueDetail(t *testing.T) {
	l := store.Licence{DepartmentCode: "D<1>", TypeCode: "BL", Serial: 42, Version: 2, StatusListID: "D1-1", StatusIndex: 7}
	want := `{"index":7,"issuer":"D\u003c1\u003e","list":"D1-1","serial":42,"type":"BL","version":2}`
	if got := string(issueDetail(&l)); got != want {
		t.Errorf("issueDetail = %s, want %s", got, want)
	}
}
