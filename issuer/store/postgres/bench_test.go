package postgres

import (
	"fmt"
	"testing"
	"time"

	"elicence/issuer/store"
	"elicence/issuer/store/postgres/pgtest"
)

// benchLicence returns a licence of the size a real one has (a credential
// of about 400 bytes), for the allocation.
func benchLicence(a store.Allocation) store.Licence {
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("1.2.156.3005.2.BL.D1.%d.%d.X", a.Serial, a.Version)
	return store.Licence{
		ID: id, DepartmentCode: "D1", TypeCode: "BL", Serial: a.Serial, Version: a.Version,
		HolderName: "某某科技有限公司", HolderKind: "enterprise", HolderCode: "91350100M000100Y43",
		Fields:    []byte(`{"法定代表人":"张三","注册资本":"100万元","经营范围":"软件开发；信息技术咨询服务"}`),
		ValidFrom: at, ValidUntil: at.AddDate(20, 0, 0), IssuedAt: at,
		StatusListID: a.StatusListID, StatusIndex: a.StatusIndex,
		Credential:   make([]byte, 400),
		RecordDigest: make([]byte, 32),
	}
}

// BenchmarkIssueBatch measures IssueBatch of 10,000 licences per operation
// (signing excluded: build only fills in the allocation) and reports
// licences/s. Reproduce with
//
//	go test ./issuer/store/postgres -run '^$' -bench IssueBatch -benchtime 10x
//
// which issues 100,000 licences into one database.
func BenchmarkIssueBatch(b *testing.B) {
	const perOp = 10000
	s, err := Open(b.Context(), Config{URL: pgtest.NewDatabase(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	ev := store.AuditEvent{Actor: "operator", Action: "setup"}
	if _, err := s.CreateDepartment(ctx, store.Department{Code: "D1", Name: "d"}, ev); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateLicenceType(ctx, store.LicenceType{Code: "BL", Name: "b", Authority: "a", FieldDefinitions: []byte("{}")}, ev); err != nil {
		b.Fatal(err)
	}
	if err := s.Authorise(ctx, "D1", "BL", ev); err != nil {
		b.Fatal(err)
	}
	// Pre-build the licences; build only copies in the allocation.
	tmpl := make([]store.Licence, perOp)
	for i := range tmpl {
		tmpl[i] = benchLicence(store.Allocation{Serial: 1, Version: 1, StatusListID: "x"})
	}
	p := store.IssueParams{DepartmentCode: "D1", TypeCode: "BL"}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		_, err := s.IssueBatch(ctx, p, perOp, func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := tmpl[i]
			l.ID = fmt.Sprintf("1.2.156.3005.2.BL.D1.%d.1.X", a.Serial)
			l.Serial, l.StatusListID, l.StatusIndex = a.Serial, a.StatusListID, a.StatusIndex
			return l, store.AuditEvent{Actor: "tok-bulk", Action: "licence.issue", Subject: l.ID}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N*perOp)/elapsed.Seconds(), "licences/s")
}
