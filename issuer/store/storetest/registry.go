package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/issuer/store"
)

// testDepartments covers creating, reading and listing departments.
func testDepartments(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	before := f.auditLen()
	d, err := s.CreateDepartment(ctx, store.Department{Code: "SAMR0001", Name: "某市市场监督管理局"}, ev("department.create", "SAMR0001"))
	if err != nil {
		t.Fatalf("CreateDepartment: %v", err)
	}
	if d.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}
	got, err := s.Department(ctx, "SAMR0001")
	if err != nil || !same(got, d) {
		t.Errorf("Department = %+v, %v; want %+v", got, err, d)
	}
	if n := f.auditLen(); n != before+1 {
		t.Errorf("audit entries = %d, want %d", n, before+1)
	}

	_, err = s.CreateDepartment(ctx, store.Department{Code: "SAMR0001", Name: "again"}, ev("department.create", "SAMR0001"))
	wantErr(t, "duplicate department", err, store.ErrDuplicate)
	wantErr(t, "duplicate department", err, store.ErrConflict)
	for _, code := range []string{"", "samr", "SAMR-1", strings.Repeat("A", 33), "部门"} {
		_, err := s.CreateDepartment(ctx, store.Department{Code: code, Name: "x"}, ev("department.create", code))
		wantErr(t, "department code "+code, err, store.ErrInvalid)
	}
	_, err = s.CreateDepartment(ctx, store.Department{Code: "OK32" + strings.Repeat("9", 28), Name: "x"}, store.AuditEvent{})
	wantErr(t, "department without audit event", err, store.ErrInvalid)
	if n := f.auditLen(); n != before+1 {
		t.Errorf("failed creations appended audit entries: %d, want %d", n, before+1)
	}

	_, err = s.Department(ctx, "NOPE")
	wantErr(t, "unknown department", err, store.ErrNotFound)

	all, err := s.ListDepartments(ctx)
	if err != nil {
		t.Fatalf("ListDepartments: %v", err)
	}
	var codes []string
	for _, d := range all {
		codes = append(codes, d.Code)
	}
	if got, want := strings.Join(codes, ","), "D1,D2,SAMR0001"; got != want {
		t.Errorf("ListDepartments codes = %s, want %s", got, want)
	}
	f.verify()
}

func newKey(dept, id string, state store.KeyState) store.SigningKey {
	return store.SigningKey{
		ID:             id,
		DepartmentCode: dept,
		PublicKey:      []byte("spki-" + id),
		PrivateKeyPEM:  []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + id + "\n-----END ENCRYPTED PRIVATE KEY-----\n"),
		Certificate:    []byte("cert-" + id),
		State:          state,
	}
}

// testSigningKeys covers adding, rotating and reading signing keys.
func testSigningKeys(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	_, err := s.ActiveSigningKey(ctx, deptA)
	wantErr(t, "active key before any", err, store.ErrNotFound)

	k1, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000a1", store.KeyActive), ev("key.add", "a1"))
	if err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	if k1.CreatedAt.IsZero() || k1.State != store.KeyActive {
		t.Errorf("added key = %+v", k1)
	}
	got, err := s.SigningKey(ctx, deptA, k1.ID)
	if err != nil || !same(got, k1) {
		t.Errorf("SigningKey = %+v, %v; want %+v", got, err, k1)
	}

	// Adding an active key rotates: the old one is retired.
	k2, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000a2", store.KeyActive), ev("key.add", "a2"))
	if err != nil {
		t.Fatalf("AddSigningKey (rotation): %v", err)
	}
	if act, err := s.ActiveSigningKey(ctx, deptA); err != nil || act.ID != k2.ID {
		t.Errorf("ActiveSigningKey = %s, %v; want %s", act.ID, err, k2.ID)
	}
	if old, _ := s.SigningKey(ctx, deptA, k1.ID); old.State != store.KeyRetired {
		t.Errorf("rotated-out key state = %s, want retired", old.State)
	}
	// A retired key may be added, e.g. imported; it does not displace the
	// active one.
	k3, err := s.AddSigningKey(ctx, newKey(deptA, "00000000000000a3", store.KeyRetired), ev("key.add", "a3"))
	if err != nil {
		t.Fatalf("AddSigningKey (retired): %v", err)
	}
	if act, _ := s.ActiveSigningKey(ctx, deptA); act.ID != k2.ID {
		t.Errorf("after adding a retired key, active = %s, want %s", act.ID, k2.ID)
	}

	// The same key ID may exist in another department; not twice in one.
	if _, err := s.AddSigningKey(ctx, newKey(deptB, k1.ID, store.KeyActive), ev("key.add", "b")); err != nil {
		t.Errorf("same key ID in another department: %v", err)
	}
	_, err = s.AddSigningKey(ctx, newKey(deptA, k2.ID, store.KeyRetired), ev("key.add", "dup"))
	wantErr(t, "duplicate key ID", err, store.ErrDuplicate)
	_, err = s.AddSigningKey(ctx, newKey("NOPE", "00000000000000b1", store.KeyActive), ev("key.add", "x"))
	wantErr(t, "key of unknown department", err, store.ErrNotFound)
	for name, k := range map[string]store.SigningKey{
		"compromised new key": newKey(deptA, "00000000000000c1", store.KeyCompromised),
		"upper-case key ID":   newKey(deptA, "00000000000000C1", store.KeyActive),
		"short key ID":        newKey(deptA, "c1", store.KeyActive),
		"no public key": func() store.SigningKey {
			k := newKey(deptA, "00000000000000c2", store.KeyActive)
			k.PublicKey = nil
			return k
		}(),
	} {
		_, err := s.AddSigningKey(ctx, k, ev("key.add", "x"))
		wantErr(t, name, err, store.ErrInvalid)
	}
	if act, _ := s.ActiveSigningKey(ctx, deptA); act.ID != k2.ID {
		t.Errorf("failed additions changed the active key to %s", act.ID)
	}

	keys, err := s.ListSigningKeys(ctx, deptA)
	if err != nil {
		t.Fatalf("ListSigningKeys: %v", err)
	}
	var ids []string
	active := 0
	for _, k := range keys {
		ids = append(ids, k.ID+":"+string(k.State))
		if k.State == store.KeyActive {
			active++
		}
		switch {
		case k.State == store.KeyActive && !bytes.Equal(k.PrivateKeyPEM, newKey(deptA, k.ID, "").PrivateKeyPEM):
			t.Errorf("key %s: private key PEM changed", k.ID)
		case k.State != store.KeyActive && len(k.PrivateKeyPEM) != 0:
			t.Errorf("%s key %s: private key PEM kept", k.State, k.ID)
		}
	}
	want := k1.ID + ":retired," + k2.ID + ":active," + k3.ID + ":retired"
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("ListSigningKeys = %s, want %s", got, want)
	}
	if active != 1 {
		t.Errorf("%d active keys, want 1", active)
	}

	since := time.Date(2025, 1, 1, 0, 0, 0, 999, time.UTC)
	k2c, err := s.SetSigningKeyState(ctx, deptA, k2.ID, store.KeyCompromised, since, ev("key.compromised", k2.ID))
	if err != nil {
		t.Fatalf("SetSigningKeyState(compromised): %v", err)
	}
	if k2c.State != store.KeyCompromised || !k2c.CompromisedSince.Equal(store.Timestamp(since)) {
		t.Errorf("compromised key = %s since %v, want compromised since %v", k2c.State, k2c.CompromisedSince, store.Timestamp(since))
	}
	if got, _ := s.SigningKey(ctx, deptA, k2.ID); !same(got, k2c) {
		t.Errorf("SigningKey after compromise = %+v, want %+v", got, k2c)
	}
	_, err = s.ActiveSigningKey(ctx, deptA)
	wantErr(t, "active key after compromise", err, store.ErrNotFound)
	_, err = s.SetSigningKeyState(ctx, deptA, "00000000000000ff", store.KeyRetired, time.Time{}, ev("key.retire", "ff"))
	wantErr(t, "state of unknown key", err, store.ErrNotFound)
	_, err = s.SetSigningKeyState(ctx, deptB, k2.ID, store.KeyRetired, time.Time{}, ev("key.retire", "x"))
	wantErr(t, "state of another department's key", err, store.ErrNotFound)
	f.verify()
}

// testSigningKeyTransitions checks every key state change against the rules.
func testSigningKeyTransitions(t *testing.T, f *fixture) {
	since := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	states := []store.KeyState{store.KeyActive, store.KeyRetired, store.KeyCompromised}
	allowed := map[[2]store.KeyState]bool{
		{store.KeyActive, store.KeyRetired}:      true,
		{store.KeyActive, store.KeyCompromised}:  true,
		{store.KeyRetired, store.KeyCompromised}: true,
	}
	n := 0
	for _, from := range states {
		for _, to := range states {
			n++
			// Each case has its own department so that rotations do not
			// interfere.
			id, dept := fmt.Sprintf("%016x", n), fmt.Sprintf("KT%02d", n)
			if _, err := f.s.CreateDepartment(f.ctx, store.Department{Code: dept, Name: "k"}, ev("department.create", dept)); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.AddSigningKey(f.ctx, newKey(dept, id, store.KeyActive), ev("key.add", id)); err != nil {
				t.Fatal(err)
			}
			if from != store.KeyActive {
				if _, err := f.s.SetSigningKeyState(f.ctx, dept, id, from, since, ev("key.state", id)); err != nil {
					t.Fatalf("move key to %s: %v", from, err)
				}
			}
			before := f.auditLen()
			_, err := f.s.SetSigningKeyState(f.ctx, dept, id, to, since, ev("key.state", id))
			if allowed[[2]store.KeyState{from, to}] {
				if err != nil {
					t.Errorf("%s -> %s: %v, want success", from, to, err)
				}
				continue
			}
			wantErr(t, string(from)+" -> "+string(to), err, store.ErrInvalidTransition)
			if got, _ := f.s.SigningKey(f.ctx, dept, id); got.State != from {
				t.Errorf("%s -> %s refused but state is now %s", from, to, got.State)
			}
			if n := f.auditLen(); n != before {
				t.Errorf("%s -> %s refused but appended an audit entry", from, to)
			}
		}
	}
	// Compromise needs a time.
	if _, err := f.s.AddSigningKey(f.ctx, newKey(deptA, "00000000000000ee", store.KeyActive), ev("key.add", "ee")); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.SetSigningKeyState(f.ctx, deptA, "00000000000000ee", store.KeyCompromised, time.Time{}, ev("key.state", "ee"))
	wantErr(t, "compromise without since", err, store.ErrInvalid)
	f.verify()
}

func secretHash(s string) []byte { h := sm3.Sum([]byte(s)); return h[:] }

// testTokens covers API tokens: creation rules, lookup by hash, revocation.
func testTokens(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	tok, err := s.CreateToken(ctx, store.Token{
		ID: "tok-a1", DepartmentCode: deptA, SecretHash: secretHash("secret-a1"),
		Scopes: []store.Scope{store.ScopeRead, store.ScopeIssue, store.ScopeRead}, Name: "窗口系统",
	}, ev("token.create", "tok-a1"))
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if want := []store.Scope{store.ScopeIssue, store.ScopeRead}; !same(tok.Scopes, want) {
		t.Errorf("scopes = %v, want sorted and deduplicated %v", tok.Scopes, want)
	}
	if tok.CreatedAt.IsZero() || tok.Revoked() {
		t.Errorf("new token = %+v", tok)
	}
	got, err := s.TokenByHash(ctx, secretHash("secret-a1"))
	if err != nil || !same(got, tok) {
		t.Errorf("TokenByHash = %+v, %v; want %+v", got, err, tok)
	}
	if !got.HasScope(store.ScopeIssue) || got.HasScope(store.ScopeRevoke) {
		t.Errorf("HasScope wrong for %v", got.Scopes)
	}
	op, err := s.CreateToken(ctx, store.Token{ID: "op-1", SecretHash: secretHash("op"), Scopes: []store.Scope{store.ScopeOperator}, Name: "operator"},
		ev("token.create", "op-1"))
	if err != nil {
		t.Fatalf("CreateToken(operator): %v", err)
	}
	if got, err := s.TokenByHash(ctx, secretHash("op")); err != nil || got.DepartmentCode != "" || !same(got, op) {
		t.Errorf("operator TokenByHash = %+v, %v", got, err)
	}

	_, err = s.TokenByHash(ctx, secretHash("wrong"))
	wantErr(t, "unknown secret", err, store.ErrNotFound)
	_, err = s.CreateToken(ctx, store.Token{ID: "tok-a1", DepartmentCode: deptA, SecretHash: secretHash("other"), Scopes: []store.Scope{store.ScopeRead}, Name: "x"}, ev("token.create", "x"))
	wantErr(t, "duplicate token ID", err, store.ErrDuplicate)
	_, err = s.CreateToken(ctx, store.Token{ID: "tok-a2", DepartmentCode: deptA, SecretHash: secretHash("secret-a1"), Scopes: []store.Scope{store.ScopeRead}, Name: "x"}, ev("token.create", "x"))
	wantErr(t, "duplicate secret hash", err, store.ErrDuplicate)
	_, err = s.CreateToken(ctx, store.Token{ID: "tok-x", DepartmentCode: "NOPE", SecretHash: secretHash("x"), Scopes: []store.Scope{store.ScopeRead}, Name: "x"}, ev("token.create", "x"))
	wantErr(t, "token of unknown department", err, store.ErrNotFound)
	for name, tk := range map[string]store.Token{
		"operator scope on department token":   {ID: "t1", DepartmentCode: deptA, SecretHash: secretHash("1"), Scopes: []store.Scope{store.ScopeOperator}},
		"department scopes without department": {ID: "t2", SecretHash: secretHash("2"), Scopes: []store.Scope{store.ScopeIssue}},
		"unknown scope":                        {ID: "t3", DepartmentCode: deptA, SecretHash: secretHash("3"), Scopes: []store.Scope{"admin"}},
		"no scopes":                            {ID: "t4", DepartmentCode: deptA, SecretHash: secretHash("4")},
		"short hash":                           {ID: "t5", DepartmentCode: deptA, SecretHash: []byte("abc"), Scopes: []store.Scope{store.ScopeRead}},
		"bad ID":                               {ID: "t 6", DepartmentCode: deptA, SecretHash: secretHash("6"), Scopes: []store.Scope{store.ScopeRead}},
	} {
		_, err := s.CreateToken(ctx, tk, ev("token.create", tk.ID))
		wantErr(t, name, err, store.ErrInvalid)
	}

	if _, err := s.CreateToken(ctx, store.Token{ID: "tok-a0", DepartmentCode: deptA, SecretHash: secretHash("a0"), Scopes: []store.Scope{store.ScopeRevoke}, Name: "x"}, ev("token.create", "tok-a0")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTokens(ctx, deptA)
	if err != nil || len(list) != 2 || list[0].ID != "tok-a0" || list[1].ID != "tok-a1" {
		t.Errorf("ListTokens(D1) = %+v, %v; want tok-a0, tok-a1", list, err)
	}
	if list, err := s.ListTokens(ctx, ""); err != nil || len(list) != 1 || list[0].ID != "op-1" {
		t.Errorf("ListTokens(operator) = %+v, %v; want op-1", list, err)
	}

	rev, err := s.RevokeToken(ctx, "tok-a1", ev("token.revoke", "tok-a1"))
	if err != nil || !rev.Revoked() {
		t.Fatalf("RevokeToken = %+v, %v", rev, err)
	}
	got, err = s.TokenByHash(ctx, secretHash("secret-a1"))
	if err != nil || !got.Revoked() || !got.RevokedAt.Equal(rev.RevokedAt) {
		t.Errorf("TokenByHash after revocation = %+v, %v; want revoked at %v", got, err, rev.RevokedAt)
	}
	before := f.auditLen()
	_, err = s.RevokeToken(ctx, "tok-a1", ev("token.revoke", "tok-a1"))
	wantErr(t, "revoking twice", err, store.ErrInvalidTransition)
	_, err = s.RevokeToken(ctx, "nope", ev("token.revoke", "nope"))
	wantErr(t, "revoking unknown token", err, store.ErrNotFound)
	if n := f.auditLen(); n != before {
		t.Errorf("refused revocations appended %d audit entries", n-before)
	}
	f.verify()
}

// testLicenceTypes covers licence types and department authorisations.
func testLicenceTypes(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	lt := store.LicenceType{Code: "FOOD-1", Name: "食品经营许可证", Authority: "市场监管总局", FieldDefinitions: []byte(`{"a":  1}`), DefaultValidityDays: 1825}
	got, err := s.CreateLicenceType(ctx, lt, ev("type.create", lt.Code))
	if err != nil {
		t.Fatalf("CreateLicenceType: %v", err)
	}
	if got.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}
	lt.CreatedAt = got.CreatedAt
	if read, err := s.LicenceType(ctx, lt.Code); err != nil || !same(read, lt) {
		t.Errorf("LicenceType = %+v, %v; want %+v (field definitions byte for byte)", read, err, lt)
	}
	_, err = s.CreateLicenceType(ctx, lt, ev("type.create", lt.Code))
	wantErr(t, "duplicate type", err, store.ErrDuplicate)
	for name, bad := range map[string]store.LicenceType{
		"bad JSON":         {Code: "X1", Name: "x", Authority: "a", FieldDefinitions: []byte(`{`)},
		"dot in code":      {Code: "X.1", Name: "x", Authority: "a", FieldDefinitions: []byte(`{}`)},
		"negative default": {Code: "X2", Name: "x", Authority: "a", FieldDefinitions: []byte(`{}`), DefaultValidityDays: -1},
		"no authority":     {Code: "X3", Name: "x", FieldDefinitions: []byte(`{}`)},
	} {
		_, err := s.CreateLicenceType(ctx, bad, ev("type.create", bad.Code))
		wantErr(t, name, err, store.ErrInvalid)
	}
	_, err = s.LicenceType(ctx, "NOPE")
	wantErr(t, "unknown type", err, store.ErrNotFound)
	all, err := s.ListLicenceTypes(ctx)
	if err != nil || len(all) != 3 || all[0].Code != typeBL || all[1].Code != "FOOD-1" || all[2].Code != typeOT {
		t.Errorf("ListLicenceTypes = %+v, %v; want BL, FOOD-1, OT", all, err)
	}

	if ok, err := s.IsAuthorised(ctx, deptB, lt.Code); ok || err != nil {
		t.Errorf("IsAuthorised before Authorise = %v, %v", ok, err)
	}
	_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptB, TypeCode: lt.Code}, f.builder(deptB, lt.Code, "H"))
	wantErr(t, "issuing an unauthorised type", err, store.ErrNotAuthorised)
	if err := s.Authorise(ctx, deptB, lt.Code, ev("type.authorise", "D2/FOOD-1")); err != nil {
		t.Fatalf("Authorise: %v", err)
	}
	if ok, err := s.IsAuthorised(ctx, deptB, lt.Code); !ok || err != nil {
		t.Errorf("IsAuthorised after Authorise = %v, %v", ok, err)
	}
	wantErr(t, "authorising twice", s.Authorise(ctx, deptB, lt.Code, ev("type.authorise", "x")), store.ErrDuplicate)
	wantErr(t, "authorising unknown department", s.Authorise(ctx, "NOPE", lt.Code, ev("type.authorise", "x")), store.ErrNotFound)
	wantErr(t, "authorising unknown type", s.Authorise(ctx, deptB, "NOPE", ev("type.authorise", "x")), store.ErrNotFound)
	types, err := s.ListDepartmentTypes(ctx, deptB)
	if err != nil || len(types) != 2 || types[0].Code != typeBL || types[1].Code != "FOOD-1" {
		t.Errorf("ListDepartmentTypes(D2) = %+v, %v; want BL, FOOD-1", types, err)
	}
	l := f.issue(deptB, lt.Code, "H1")

	if err := s.Deauthorise(ctx, deptB, lt.Code, ev("type.deauthorise", "D2/FOOD-1")); err != nil {
		t.Fatalf("Deauthorise: %v", err)
	}
	if ok, _ := s.IsAuthorised(ctx, deptB, lt.Code); ok {
		t.Error("still authorised after Deauthorise")
	}
	wantErr(t, "deauthorising twice", s.Deauthorise(ctx, deptB, lt.Code, ev("type.deauthorise", "x")), store.ErrNotFound)
	before := f.auditLen()
	_, err = s.IssueLicence(ctx, store.IssueParams{DepartmentCode: deptB, TypeCode: lt.Code}, f.builder(deptB, lt.Code, "H"))
	wantErr(t, "issuing after deauthorisation", err, store.ErrNotAuthorised)
	if n := f.auditLen(); n != before {
		t.Errorf("refused issuance appended an audit entry")
	}
	if _, err := s.Licence(ctx, deptB, l.ID); err != nil {
		t.Errorf("licence issued before deauthorisation: %v", err)
	}
	f.verify()
}
