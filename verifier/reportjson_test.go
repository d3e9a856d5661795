package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"elicence/internal/vectors"
	"elicence/verifier"
)

// reflectJSON is what encoding/json writes for r, as api.WriteJSON has it
// write (no HTML escaping), without the newline.
func reflectJSON(t testing.TB, r *verifier.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkSameJSON(t testing.TB, r *verifier.Report) {
	t.Helper()
	want := reflectJSON(t, r)
	got := r.AppendJSON([]byte("prefix"))
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("AppendJSON dropped what it appended to")
	}
	if got = got[len("prefix"):]; !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

// TestAppendJSONVectors holds the hand-written encoding to encoding/json's
// for the report of every test vector.
func TestAppendJSONVectors(t *testing.T) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	root := vectorRoot(t)
	kinds := map[string]bool{}
	for _, v := range vs {
		r := verifier.Verify(context.Background(), v.Text, vectorConfig(t, root, v))
		checkSameJSON(t, r)
		kinds[r.Kind] = true
	}
	if len(vs) < 20 || !kinds["credential"] || !kinds["presentation"] || !kinds["annotated copy"] {
		t.Fatalf("%d vectors of kinds %v: the vectors do not cover the report's parts", len(vs), kinds)
	}
}

// TestAppendJSONEdges covers what vectors do not: strings needing escapes,
// invalid UTF-8, line and paragraph separators, nil and empty slices, zero
// and out-of-range times, zones and nanoseconds.
func TestAppendJSONEdges(t *testing.T) {
	until := time.Date(2030, 1, 2, 3, 4, 5, 600, time.FixedZone("CST", 8*3600))
	for _, r := range []verifier.Report{
		{},
		{Checks: []verifier.Check{}},
		{Indication: "PASSED", Reason: "a \"quoted\" \\ back\nslash\t<&>\u2028\u2029\x00\x7f", Kind: "credential",
			Checks:  []verifier.Check{{Name: "n", Result: "r", Detail: "证照 \xff\xfe"}},
			Licence: &verifier.Licence{ID: "x", HolderName: "张三", ValidUntil: &until, Fields: []verifier.Field{{Key: "k", Value: ""}, {Key: "", Label: "l", Value: "v"}}},
			Issuer:  &verifier.Issuer{Code: "c", Name: "n", KeyID: "k", KeyState: "active"},
			Status: &verifier.StatusReport{List: "L", Index: 4294967295, Value: "revoked", Reason: "penalty",
				ChangedAt: until, IssuedAt: until.UTC(), AgeSeconds: -5, TTLSeconds: 1, FetchedAt: until, Source: "http"},
			Validity:   &verifier.Window{},
			Annotation: &verifier.Annotation{RelyingDepartment: "d", RelyingDepartmentName: "名", Purpose: "p"},
			Document:   &verifier.Document{ID: "7D", Title: "批复\"<", Number: "闽〔2026〕1号", SignedAt: until, SM3: "ab", File: "pdf"},
			LogProof: &verifier.LogProof{Origin: "issuer.example/tlog/D\"", Size: 1<<64 - 1, Root: "ODiN+/=", Index: 7,
				Witness: "w\n", CosignedAt: until, Source: "http"},
			VerifiedAt: time.Date(2026, 12, 2, 3, 0, 0, 123456789, time.UTC)},
		{LogProof: &verifier.LogProof{}},
		{LogProof: &verifier.LogProof{CosignedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{Document: &verifier.Document{}},
		{Document: &verifier.Document{SignedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{Licence: &verifier.Licence{Fields: []verifier.Field{}}, Status: &verifier.StatusReport{}},
		{VerifiedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{VerifiedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{VerifiedAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600))},
		{VerifiedAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("near", 23*3600+59*60))},
	} {
		checkSameJSON(t, &r)
	}
	// Each byte that needs more than a copy, at each place in and around
	// the eight-byte blocks appendString skips at once.
	for _, c := range []string{"\"", "\\", "\x00", "\x1f", "\x7f", "\xff", "\u2028", "é", "张"} {
		for i := range 17 {
			s := strings.Repeat("a", i) + c + strings.Repeat("b", 16-i)
			checkSameJSON(t, &verifier.Report{Reason: s, Indication: verifier.Indication(s[:i])})
		}
	}
}

// FuzzAppendJSON holds the hand-written encoding to encoding/json's for
// reports made of arbitrary strings, numbers and times.
func FuzzAppendJSON(f *testing.F) {
	f.Add("PASSED", "", "reason", "credential", "张三", "\"\\\n", uint32(7), int64(-3), int64(1700000000), int32(0), uint8(0xff))
	f.Add("", "x\u2028", "\xff", "", "", "", uint32(0), int64(0), int64(0), int32(3600), uint8(0))
	f.Fuzz(func(t *testing.T, ind, sub, reason, kind, name, detail string, index uint32, age, unix int64, zone int32, present uint8) {
		at := time.Unix(unix%(400*365*86400), int64(index)%1e9).In(time.FixedZone("z", int(zone%(30*3600))))
		r := verifier.Report{Indication: verifier.Indication(ind), SubIndication: verifier.SubIndication(sub),
			Reason: reason, Kind: kind, VerifiedAt: at}
		if present&1 != 0 {
			r.Checks = []verifier.Check{{Name: name, Result: verifier.Result(ind), Detail: detail}, {Name: detail}}
		}
		if present&2 != 0 {
			l := &verifier.Licence{ID: name, TypeCode: detail, TypeName: reason, HolderName: name, HolderID: kind,
				ValidFrom: at, IssuedAt: at.UTC()}
			if present&16 != 0 {
				l.ValidUntil = &at
				l.Fields = []verifier.Field{{Key: detail, Label: name, Value: reason}}
			}
			r.Licence = l
		}
		if present&4 != 0 {
			r.Issuer = &verifier.Issuer{Code: name, Name: detail, KeyID: sub, KeyState: kind}
		}
		if present&8 != 0 {
			s := &verifier.StatusReport{List: name, Index: index, Value: detail, Reason: reason, AgeSeconds: age,
				TTLSeconds: index / 3, Source: kind}
			if present&32 != 0 {
				s.ChangedAt, s.IssuedAt, s.FetchedAt = at, at, at
			}
			r.Status = s
		}
		if present&64 != 0 {
			r.Validity = &verifier.Window{NotBefore: at, Expires: at.Add(time.Duration(age))}
		}
		if present&128 != 0 {
			r.Annotation = &verifier.Annotation{RelyingDepartment: name, RelyingDepartmentName: detail,
				Purpose: reason, IssuedAt: at, Expires: at}
		}
		if present&160 == 160 {
			r.Document = &verifier.Document{ID: name, Title: detail, Number: reason, SignedAt: at, SM3: sub, File: kind}
		}
		if present&96 == 96 {
			r.LogProof = &verifier.LogProof{Origin: name, Size: uint64(age), Root: detail, Index: uint64(index),
				Witness: reason, CosignedAt: at, Source: kind}
		}
		checkSameJSON(t, &r)
	})
}
