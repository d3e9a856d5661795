package issuer

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"elicence/issuer/kind"
	"elicence/issuer/store"
)

// TestBatchRule walks uploads through the batching rule: a batch ends when
// full or where the type changes; unreadable rows (type unknown) stay in
// the batch they fall in, and a batch of only unreadable rows takes the
// type of the next readable row.
func TestBatchRule(t *testing.T) {
	type row struct {
		typ        string
		unreadable bool
	}
	r := func(typ string) row { return row{typ: typ} }
	bad := row{unreadable: true}
	for _, tc := range []struct {
		name string
		size int
		rows []row
		want string // batches, each its type and row count, e.g. "BL:2 DL:1"
	}{
		{"one type", 3, []row{r("BL"), r("BL")}, "BL:2"},
		{"full", 2, []row{r("BL"), r("BL"), r("BL"), r("BL"), r("BL")}, "BL:2 BL:2 BL:1"},
		{"type changes", 10, []row{r("BL"), r("DL"), r("DL"), r("BL")}, "BL:1 DL:2 BL:1"},
		{"unreadable stays", 10, []row{r("BL"), bad, r("BL")}, "BL:3"},
		{"unreadable before a change", 10, []row{r("BL"), bad, r("DL")}, "BL:2 DL:1"},
		{"unreadable first takes the next type", 10, []row{bad, bad, r("DL"), r("DL")}, "DL:4"},
		{"unreadable first then another type", 10, []row{bad, r("DL"), r("BL")}, "DL:2 BL:1"},
		{"unreadable fills a batch", 2, []row{r("BL"), bad, bad}, "BL:2 :1"},
		{"only unreadable", 10, []row{bad, bad}, ":2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type batch struct {
				typ string
				n   int
			}
			var bs []batch
			for _, rw := range tc.rows {
				if len(bs) > 0 {
					cur := &bs[len(bs)-1]
					var ends bool
					cur.typ, ends = batchRule(cur.typ, cur.n, tc.size, rw.typ, rw.unreadable)
					if !ends {
						cur.n++
						continue
					}
				}
				bs = append(bs, batch{typ: rw.typ, n: 1})
			}
			var got []string
			for _, b := range bs {
				got = append(got, b.typ+":"+strconv.Itoa(b.n))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("batches %q, want %q", g, tc.want)
			}
		})
	}
}

// TestStatusChangeRule: each target status takes its own reason codes and
// names its audit action; a reinstatement records no reason.
func TestStatusChangeRule(t *testing.T) {
	for _, tc := range []struct {
		to      store.Status
		reason  string
		action  string
		record  string
		wantErr kind.Kind // of the error, when not ok
		ok      bool
	}{
		{store.StatusRevoked, "penalty", ActionRevoke, "penalty", 0, true},
		{store.StatusRevoked, "investigation", "", "", kind.Validation, false},
		{store.StatusRevoked, "", "", "", kind.Validation, false},
		{store.StatusSuspended, "investigation", ActionSuspend, "investigation", 0, true},
		{store.StatusSuspended, "penalty", "", "", kind.Validation, false},
		{store.StatusValid, "penalty", ActionReinstate, "", 0, true},
		{store.StatusValid, "", ActionReinstate, "", 0, true},
		{store.Status(99), "other", "", "", kind.Internal, false},
	} {
		action, rec, err := statusChangeRule(tc.to, tc.reason)
		if (err == nil) != tc.ok || action != tc.action || rec != tc.record {
			t.Errorf("statusChangeRule(%v, %q) = %q, %q, %v", tc.to, tc.reason, action, rec, err)
			continue
		}
		if err != nil && kind.Of(err) != tc.wantErr {
			t.Errorf("statusChangeRule(%v, %q): error of kind %s, want %s", tc.to, tc.reason, kind.Of(err), tc.wantErr)
		}
	}
	for _, r := range append(append([]string{}, RevocationReasons...), SuspensionReasons...) {
		if len(r) == 0 || len(r) > 64 {
			t.Errorf("reason code %q breaks the store's 1 to 64 bytes", r)
		}
	}
}

// TestTransitionRule: valid ⇄ suspended, either to revoked; revocation is
// final, and the problem says so.
func TestTransitionRule(t *testing.T) {
	V, S, R := store.StatusValid, store.StatusSuspended, store.StatusRevoked
	for _, tc := range []struct {
		from, to store.Status
		ok       bool
		says     string
	}{
		{V, S, true, ""}, {S, V, true, ""}, {V, R, true, ""}, {S, R, true, ""},
		{V, V, false, "cannot reinstate licence L1: it is valid"},
		{S, S, false, "cannot suspend licence L1: it is suspended"},
		{R, V, false, "cannot reinstate licence L1: it is revoked, and revocation is final"},
		{R, S, false, "cannot suspend licence L1: it is revoked, and revocation is final"},
		{R, R, false, "cannot revoke licence L1: it is revoked, and revocation is final"},
	} {
		err := transitionRule("L1", tc.from, tc.to)
		if (err == nil) != tc.ok {
			t.Errorf("%v → %v: %v", tc.from, tc.to, err)
			continue
		}
		if err != nil && (err.Error() != tc.says || !errors.Is(err, store.ErrInvalidTransition) || kind.Of(err) != kind.Conflict) {
			t.Errorf("%v → %v: %q (kind %s), want %q, a conflict", tc.from, tc.to, err, kind.Of(err), tc.says)
		}
	}
}

// TestRequireRules: who may do what. A department action needs a
// department token with every scope named; an operator action needs the
// operator scope without a department.
func TestRequireRules(t *testing.T) {
	dept := func(scopes ...store.Scope) *Principal {
		return &Principal{TokenID: "t", Department: "D1", Scopes: scopes}
	}
	op := &Principal{TokenID: "op", Scopes: []store.Scope{store.ScopeOperator}}
	deptOp := &Principal{TokenID: "x", Department: "D1", Scopes: []store.Scope{store.ScopeOperator}}
	for _, tc := range []struct {
		name   string
		p      *Principal
		scopes []store.Scope
		want   kind.Kind // Internal: allowed
		says   string
	}{
		{"no token", nil, []store.Scope{store.ScopeIssue}, kind.Unauthenticated, "a bearer token is required"},
		{"operator for a department action", op, []store.Scope{store.ScopeIssue}, kind.Forbidden, "this action needs a department token with scope issue"},
		{"scope held", dept(store.ScopeIssue, store.ScopeRead), []store.Scope{store.ScopeIssue}, kind.Internal, ""},
		{"scope lacking", dept(store.ScopeRead), []store.Scope{store.ScopeRevoke}, kind.Forbidden, "the token lacks scope revoke"},
		{"one of two lacking", dept(store.ScopeIssue), []store.Scope{store.ScopeIssue, store.ScopeRevoke}, kind.Forbidden,
			"the token lacks scope revoke (this action needs issue and revoke)"},
		{"both held", dept(store.ScopeIssue, store.ScopeRevoke), []store.Scope{store.ScopeIssue, store.ScopeRevoke}, kind.Internal, ""},
	} {
		err := requireDept(tc.p, tc.scopes...)
		if kind.Of(err) != tc.want || (err != nil && err.Error() != tc.says) {
			t.Errorf("requireDept %s: %v (kind %s), want %s %q", tc.name, err, kind.Of(err), tc.want, tc.says)
		}
	}
	for _, tc := range []struct {
		name string
		p    *Principal
		want kind.Kind
	}{
		{"no token", nil, kind.Unauthenticated},
		{"operator", op, kind.Internal},
		{"department token", dept(store.ScopeIssue, store.ScopeRevoke, store.ScopeRead), kind.Forbidden},
		{"department token with the operator scope", deptOp, kind.Forbidden},
	} {
		if err := requireOperator(tc.p); kind.Of(err) != tc.want || (tc.want == kind.Internal) != (err == nil) {
			t.Errorf("requireOperator %s: %v, want kind %s", tc.name, err, tc.want)
		}
	}
}
