package verifierapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"elicence/api"
	"elicence/api/verifierapi"
	"elicence/format"
	"elicence/verifier"
)

func batchBody(texts ...string) []byte {
	b, _ := json.Marshal(map[string][]string{"qr_texts": texts})
	return b
}

func (s *service) postBatch(t *testing.T, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(s.url+"/v1/verify/batch", contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// batchReports decodes a 200 batch answer.
func batchReports(t *testing.T) func(resp *http.Response, body []byte) []verifier.Report {
	return func(resp *http.Response, body []byte) []verifier.Report {
		t.Helper()
		return decodeBatch(t, resp, body)
	}
}

func decodeBatch(t *testing.T, resp *http.Response, body []byte) []verifier.Report {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var out struct {
		Reports []verifier.Report `json:"reports"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Reports
}

// TestBatchVerify sends good, failing and revoked texts in one batch: each
// report is the one POST /v1/verify gives, in the order sent; a revoked
// licence repeated through a batch (every repeat a memo hit) is REVOKED
// each time, and a tampered signature never passes however often its
// untampered twin has.
func TestBatchVerify(t *testing.T) {
	s := newService(t, nil)
	good, revoked := s.qr(t, 1), s.qr(t, 2)
	tamperedCred := s.cred(t, 1)
	tamperedCred.Signature = bytes.Clone(tamperedCred.Signature)
	tamperedCred.Signature[5] ^= 1
	tampered := format.QRText(format.KindCredential, tamperedCred)

	// Both verify before the revocation: their signatures are remembered.
	for _, r := range batchReports(t)(s.postBatch(t, "application/json", batchBody(good, revoked))) {
		want(t, &r, verifier.Passed, "")
	}
	s.iss.SetStatus(s.d, "L1", 2, format.StatusRevoked)
	s.clock.Advance(time.Minute)
	s.verify(t, good) // kicks the refresh: max-age 60 s has passed
	deadline := time.Now().Add(5 * time.Second)
	for s.verify(t, revoked).SubIndication != verifier.Revoked && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	var texts []string
	for i := range verifierapi.MaxBatch {
		switch i % 4 {
		case 0:
			texts = append(texts, good)
		case 1, 3:
			texts = append(texts, revoked)
		case 2:
			texts = append(texts, tampered)
		}
	}
	hitsBefore := memoHits(t, s)
	for round := range 20 {
		reps := batchReports(t)(s.postBatch(t, "application/json", batchBody(texts...)))
		if len(reps) != len(texts) {
			t.Fatalf("%d reports for %d texts", len(reps), len(texts))
		}
		for i, r := range reps {
			switch i % 4 {
			case 0:
				want(t, &r, verifier.Passed, "")
			case 1, 3:
				want(t, &r, verifier.Failed, verifier.Revoked)
				if r.Status == nil || r.Status.Value != "revoked" {
					t.Fatalf("round %d item %d: status %+v", round, i, r.Status)
				}
			case 2:
				want(t, &r, verifier.Failed, verifier.SigCryptoFailure)
				if r.Licence != nil {
					t.Fatal("licence disclosed although the signature failed")
				}
			}
			if len(r.Checks) != 10 {
				t.Fatalf("item %d: %d checks", i, len(r.Checks))
			}
		}
	}
	// The passing and revoked items were memo hits: the revocation was
	// found with the SM2 verification remembered.
	if hits := memoHits(t, s) - hitsBefore; hits < 20*verifierapi.MaxBatch*3/4 {
		t.Fatalf("%v memo hits over the batches, want at least %d", hits, 20*verifierapi.MaxBatch*3/4)
	}

	// A batch's report is the single route's, byte for byte but for the
	// time of verification.
	single := s.verify(t, revoked)
	batch := batchReports(t)(s.postBatch(t, "application/json", batchBody(revoked)))[0]
	single.VerifiedAt, batch.VerifiedAt = time.Time{}, time.Time{}
	a, _ := json.Marshal(single)
	b, _ := json.Marshal(batch)
	if !bytes.Equal(a, b) {
		t.Fatalf("batch report differs from the single route's:\n%s\n%s", b, a)
	}

	// Bodies the fast reader does not take (spaces, escapes) give the same.
	spaced := []byte(`{ "qr_texts" : [ "` + good + `" , "` + strings.Replace(revoked, "/", `\/`, -1) + "\\r\\n" + `" ] }`)
	reps := batchReports(t)(s.postBatch(t, "application/json; charset=utf-8", spaced))
	if len(reps) != 2 {
		t.Fatalf("%d reports", len(reps))
	}
	want(t, &reps[0], verifier.Passed, "")
	want(t, &reps[1], verifier.Failed, verifier.Revoked)
}

// memoHits reads the signature memo's hit counter from /metrics.
func memoHits(t *testing.T, s *service) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "elicence_verifier_signature_memo_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "hit" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatal("no memo hit counter")
	return 0
}

func TestBatchBadRequests(t *testing.T) {
	s := newService(t, nil)
	good := s.qr(t, 1)
	many := make([]string, verifierapi.MaxBatch+1)
	for i := range many {
		many[i] = good
	}
	huge := make([]string, verifierapi.MaxBatch)
	for i := range huge {
		huge[i] = strings.Repeat("A", format.MaxQRText+20)
	}
	for _, c := range []struct {
		name   string
		ct     string
		body   []byte
		status int
		field  string
	}{
		{"missing qr_texts", "application/json", []byte(`{}`), 422, "qr_texts"},
		{"null qr_texts", "application/json", []byte(`{"qr_texts":null}`), 422, "qr_texts"},
		{"empty array", "application/json", []byte(`{"qr_texts":[]}`), 422, "qr_texts"},
		{"empty array, spaced", "application/json", []byte(`{"qr_texts": [ ]}`), 422, "qr_texts"},
		{"too many", "application/json", batchBody(many...), 422, "qr_texts"},
		{"too many, spaced", "application/json", bytes.ReplaceAll(batchBody(many...), []byte(","), []byte(", ")), 422, "qr_texts"},
		{"empty text", "application/json", batchBody(good, " \r\n"), 422, "qr_texts[1]"},
		{"null text", "application/json", []byte(`{"qr_texts":["` + good + `",null]}`), 422, "qr_texts[1]"},
		{"text not a string", "application/json", []byte(`{"qr_texts":["` + good + `",42]}`), 422, "qr_texts"},
		{"not an array", "application/json", []byte(`{"qr_texts":"` + good + `"}`), 422, "qr_texts"},
		{"bare array", "application/json", []byte(`["` + good + `"]`), 422, "(body)"},
		{"unknown field", "application/json", []byte(`{"qr_texts":["A"],"dept":"X"}`), 422, "dept"},
		{"malformed json", "application/json", []byte(`{"qr_texts":["A"`), 400, ""},
		{"two json values", "application/json", []byte(`{"qr_texts":["A"]}{}`), 400, ""},
		{"body too large", "application/json", batchBody(huge...), 413, ""},
		{"text/plain", "text/plain", []byte("LC1:ABC"), 415, ""},
		{"multipart", "multipart/form-data; boundary=x", []byte("x"), 415, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.postBatch(t, c.ct, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p api.Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != c.status || p.RequestID == "" || p.Instance != "/v1/verify/batch" {
				t.Fatalf("problem %+v", p)
			}
			if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field || p.Errors[0].Reason == "") {
				t.Fatalf("problem fields %+v, want %s with a reason", p.Errors, c.field)
			}
		})
	}
	resp, err := http.Get(s.url + "/v1/verify/batch")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/verify/batch: %d", resp.StatusCode)
	}
}

// TestOpenAPIBatchExample sends the documented batch example as it stands
// to a verifier with the vectors' trust at the vectors' time: both texts
// pass, in order.
func TestOpenAPIBatchExample(t *testing.T) {
	_, examples := documentedOps(t)
	ex, ok := examples["POST /v1/verify/batch"]
	if !ok {
		t.Fatal("POST /v1/verify/batch has no example")
	}
	srv := exampleServer(t)
	resp, err := http.Post(srv.URL+"/v1/verify/batch", "application/json", strings.NewReader(ex))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct {
		Reports []verifier.Report `json:"reports"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Reports) != 2 {
		t.Fatalf("%d: %s", resp.StatusCode, b)
	}
	for i := range out.Reports {
		want(t, &out.Reports[i], verifier.Passed, "")
	}
}
