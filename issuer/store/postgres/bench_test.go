package postgres

import (
	"errors"
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

// benchStore opens a store on a new database with department D1
// authorised for type BL, closed when b ends.
func benchStore(b *testing.B) *Store {
	ctx := b.Context()
	s, err := Open(ctx, Config{URL: pgtest.NewDatabase(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
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
	return s
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
	s := benchStore(b)
	ctx := b.Context()
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

// BenchmarkIssueBatchLog is what the issuance log costs the store alone
// (no signing, so the log's rows weigh more than in the issuer's
// BenchmarkBulkIssueLog): each operation issues 10,000 licences as two
// concurrent IssueBatch calls of 5,000 (as the issuer's two bulk workers
// do) into a database without the log, then the same into one with it,
// and reports both rates and log-cost-%, the time with the log above the
// time without. Reproduce with
//
//	go test ./issuer/store/postgres -run '^$' -bench IssueBatchLog -benchtime 10x
func BenchmarkIssueBatchLog(b *testing.B) {
	const perOp, workers = 10000, 2
	ctx := b.Context()
	sides := []struct {
		s      *Store
		origin string
		took   time.Duration
	}{{s: benchStore(b)}, {s: benchStore(b), origin: "issuer.example.gov.cn/tlog/11350100MB00000012"}}
	tmpl := make([]store.Licence, perOp/workers)
	for i := range tmpl {
		tmpl[i] = benchLicence(store.Allocation{Serial: 1, Version: 1, StatusListID: "x"})
	}
	issue := func(s *Store, origin string) error {
		errs := make(chan error, workers)
		for range workers {
			go func() {
				p := store.IssueParams{DepartmentCode: "D1", TypeCode: "BL", LogOrigin: origin}
				_, err := s.IssueBatch(ctx, p, perOp/workers, func(i int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
					l := tmpl[i]
					l.ID = fmt.Sprintf("1.2.156.3005.2.BL.D1.%d.1.X", a.Serial)
					l.Serial, l.StatusListID, l.StatusIndex = a.Serial, a.StatusListID, a.StatusIndex
					// A credential of its own, so that every leaf differs.
					l.Credential = fmt.Appendf(make([]byte, 0, 400), "%s%0380d", l.ID, a.Serial)
					return l, store.AuditEvent{Actor: "tok-bulk", Action: "licence.issue", Subject: l.ID}, nil
				})
				errs <- err
			}()
		}
		var err error
		for range workers {
			err = errors.Join(err, <-errs)
		}
		return err
	}
	b.ResetTimer()
	for b.Loop() {
		for i := range sides {
			start := time.Now()
			if err := issue(sides[i].s, sides[i].origin); err != nil {
				b.Fatal(err)
			}
			sides[i].took += time.Since(start)
		}
	}
	n := float64(b.N * perOp)
	b.ReportMetric(n/sides[0].took.Seconds(), "off-licences/s")
	b.ReportMetric(n/sides[1].took.Seconds(), "on-licences/s")
	b.ReportMetric(100*(sides[1].took.Seconds()/sides[0].took.Seconds()-1), "log-cost-%")
	b.ReportMetric(0, "ns/op")
}
