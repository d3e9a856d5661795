// Package storetest is the conformance suite of the issuer store: every
// backend's tests call Run, so that all backends keep the rules documented
// in package store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/issuer/store"
)

// Tamperer is implemented by test wrappers of a backend that can change the
// audit log behind the store's back (the store itself offers no way to),
// so that the suite can show VerifyChain notices. Without it the tamper
// tests are skipped with a message.
type Tamperer interface {
	// TamperAuditDetail overwrites the Detail of audit entry seq.
	TamperAuditDetail(ctx context.Context, seq int64, detail []byte) error
	// DeleteAudit deletes audit entry seq.
	DeleteAudit(ctx context.Context, seq int64) error
}

// Run runs the suite. open must return a new, empty store for each call,
// and close it when its test ends. Backends used with the suite should set
// a small status-list size (a few hundred entries) so that list rollover
// is tested quickly; the suite reads the size from the store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Ping", testPing},
		{"Departments", testDepartments},
		{"SigningKeys", testSigningKeys},
		{"SigningKeyTransitions", testSigningKeyTransitions},
		{"KeyDestruction", testKeyDestruction},
		{"KeyNotActive", testKeyNotActive},
		{"ReissueBatch", testReissueBatch},
		{"Tokens", testTokens},
		{"LicenceTypes", testLicenceTypes},
		{"IssueLicence", testIssueLicence},
		{"IssueLicenceFailures", testIssueLicenceFailures},
		{"IssueLicenceFailuresConcurrent", testIssueLicenceFailuresConcurrent},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"StatusTransitions", testStatusTransitions},
		{"Reissue", testReissue},
		{"StatusLists", testStatusLists},
		{"StatusListRollover", testStatusListRollover},
		{"IssueBatch", testIssueBatch},
		{"IssueBatchAllOrNothing", testIssueBatchAllOrNothing},
		{"IssueBatchRowKeys", testIssueBatchRowKeys},
		{"ListLicences", testListLicences},
		{"Audit", testAudit},
		{"AuditHead", testAuditHead},
		{"AuditTamperEdit", testAuditTamperEdit},
		{"AuditTamperDelete", testAuditTamperDelete},
		{"Concurrency", testConcurrency},
		{"Wallet", testWallet},
		{"Documents", testDocuments},
		{"DocumentsConcurrent", testDocumentsConcurrent},
		{"DocumentSigners", testDocumentSigners},
		{"LogAppends", testLogAppends},
		{"LogCheckpoints", testLogCheckpoints},
		{"LogKeys", testLogKeys},
		{"LogConcurrent", testLogConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newFixture(t, open(t)))
		})
	}
	// Before any fixture: an empty log's head is 0.
	t.Run("AuditHeadEmpty", func(t *testing.T) {
		t.Parallel()
		if head, err := open(t).AuditHead(context.Background()); err != nil || head != 0 {
			t.Errorf("AuditHead of a new store = %d, %v, want 0", head, err)
		}
	})
}

// Fixture data: two departments, two licence types; D1 may issue both,
// D2 only BL.
const (
	deptA  = "D1"
	deptB  = "D2"
	typeBL = "BL"
	typeOT = "OT"
)

type fixture struct {
	t    *testing.T
	s    store.Store
	ctx  context.Context
	tick atomic.Int64
}

// base is the issue time of the first licence a fixture builds; it has
// nanoseconds and a zone so that the suite sees the store's normalisation.
var base = time.Date(2025, 3, 1, 9, 30, 15, 123456789, time.FixedZone("CST", 8*3600))

func newFixture(t *testing.T, s store.Store) *fixture {
	f := &fixture{t: t, s: s, ctx: t.Context()}
	for _, d := range []store.Department{{Code: deptA, Name: "一号部门"}, {Code: deptB, Name: "二号部门"}} {
		if _, err := s.CreateDepartment(f.ctx, d, ev("department.create", d.Code)); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	for _, lt := range []store.LicenceType{
		{Code: typeBL, Name: "营业执照", Authority: "国家市场监督管理总局", FieldDefinitions: []byte(`{"fields":[]}`), DefaultValidityDays: 0},
		{Code: typeOT, Name: "其他证照", Authority: "某部", FieldDefinitions: []byte(`[]`), DefaultValidityDays: 365},
	} {
		if _, err := s.CreateLicenceType(f.ctx, lt, ev("type.create", lt.Code)); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	for _, a := range [][2]string{{deptA, typeBL}, {deptA, typeOT}, {deptB, typeBL}} {
		if err := s.Authorise(f.ctx, a[0], a[1], ev("type.authorise", a[0]+"/"+a[1])); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	return f
}

// fixtureAuditEntries is the number of audit entries newFixture appends.
const fixtureAuditEntries = 7

func ev(action, subject string) store.AuditEvent {
	return store.AuditEvent{Actor: "tok-test", Action: action, Subject: subject, Detail: []byte(`{"note": "测试",  "n":1}`)}
}

// nextTime returns a distinct issue time for each licence built.
func (f *fixture) nextTime() time.Time {
	return base.Add(time.Duration(f.tick.Add(1)) * time.Second)
}

// newLicence returns a licence for the allocation, as an issuer would build
// it.
func newLicence(dept, typ, holder string, a store.Allocation, at time.Time) store.Licence {
	id := fmt.Sprintf("1.2.156.3005.2.%s.%s.%d.%d.X", typ, dept, a.Serial, a.Version)
	digest := sm3.Sum([]byte(id))
	return store.Licence{
		ID:             id,
		DepartmentCode: dept,
		TypeCode:       typ,
		Serial:         a.Serial,
		Version:        a.Version,
		HolderName:     "张三",
		HolderKind:     "citizen",
		HolderCode:     holder,
		Fields:         []byte(`{"经营范围": "软件开发",  "capital":100}`),
		ValidFrom:      at,
		ValidUntil:     at.AddDate(5, 0, 0),
		IssuedAt:       at,
		StatusListID:   a.StatusListID,
		StatusIndex:    a.StatusIndex,
		Credential:     []byte("credential of " + id),
		RecordDigest:   digest[:],
		// Bytes that are not valid UTF-8 or JSON: the store keeps them
		// exactly.
		Record: append([]byte{0xa1, 0x00, 0xff}, id...),
	}
}

// builder returns an IssueLicence callback building a licence for holder.
func (f *fixture) builder(dept, typ, holder string) func(store.Allocation) (store.Licence, store.AuditEvent, error) {
	return func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
		l := newLicence(dept, typ, holder, a, f.nextTime())
		return l, ev("licence.issue", l.ID), nil
	}
}

// issue issues one licence or fails the test.
func (f *fixture) issue(dept, typ, holder string) store.Licence {
	f.t.Helper()
	l, err := f.s.IssueLicence(f.ctx, store.IssueParams{DepartmentCode: dept, TypeCode: typ}, f.builder(dept, typ, holder))
	if err != nil {
		f.t.Fatalf("IssueLicence(%s, %s): %v", dept, typ, err)
	}
	return l
}

// setStatus changes a licence's status or fails the test.
func (f *fixture) setStatus(l store.Licence, s store.Status) store.Licence {
	f.t.Helper()
	out, err := f.s.UpdateStatus(f.ctx, store.StatusChange{DepartmentCode: l.DepartmentCode, LicenceID: l.ID, Status: s, Reason: "test"},
		ev("licence.status", l.ID))
	if err != nil {
		f.t.Fatalf("UpdateStatus(%s, %s): %v", l.ID, s, err)
	}
	return out
}

// audit returns the whole audit log.
func (f *fixture) audit() []store.AuditEntry {
	f.t.Helper()
	var all []store.AuditEntry
	for {
		var after int64
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		page, err := f.s.ListAudit(f.ctx, after, store.MaxPageSize)
		if err != nil {
			f.t.Fatalf("ListAudit: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

// auditLen returns the number of audit entries.
func (f *fixture) auditLen() int { f.t.Helper(); return len(f.audit()) }

// verify fails the test unless the audit chain verifies.
func (f *fixture) verify() {
	f.t.Helper()
	if bad, err := f.s.VerifyChain(f.ctx); bad != 0 || err != nil {
		f.t.Fatalf("VerifyChain = %d, %v; want 0, nil", bad, err)
	}
}

// licence reads a licence or fails the test.
func (f *fixture) licence(dept, id string) store.Licence {
	f.t.Helper()
	l, err := f.s.Licence(f.ctx, dept, id)
	if err != nil {
		f.t.Fatalf("Licence(%s, %s): %v", dept, id, err)
	}
	return l
}

// wantErr fails the test unless errors.Is(err, want).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want %v", what, err, want)
	}
}

// same reports whether a and b are equal, treating nil and empty byte
// slices alike and comparing times as instants.
func same(a, b any) bool {
	return reflect.DeepEqual(norm(reflect.ValueOf(a)), norm(reflect.ValueOf(b)))
}

func norm(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case time.Time:
		return x.UTC().Round(0)
	case []byte:
		if len(x) == 0 {
			return []byte{}
		}
		return x
	}
	switch v.Kind() {
	case reflect.Struct:
		out := make([]any, v.NumField())
		for i := range out {
			out[i] = norm(v.Field(i))
		}
		return out
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = norm(v.Index(i))
		}
		return out
	}
	return v.Interface()
}

// testPing checks Ping on an open store.
func testPing(t *testing.T, f *fixture) {
	if err := f.s.Ping(f.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
