package issuerapi

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// cursorOf builds a licence-listing cursor as the stores encode it
// (version 1, Unix microseconds, identifier), with any content.
func cursorOf(micros int64, id string) string {
	b := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(b[1:], uint64(micros))
	return base64.RawURLEncoding.EncodeToString(append(b, id...))
}

// TestBadTextAtTheEdge: a NUL byte, a control character or invalid UTF-8
// in a path or filter, and a cursor out of range, are 400/422 problems
// naming the field, on both stores — never a 500 from the database.
func TestBadTextAtTheEdge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		e.issue(refBusiness)
		tok, op := e.tokens[issuertest.TokenIssuer], e.tokens[issuertest.TokenOperator]
		for _, c := range []struct {
			path, token string
			status      int
			field       string
		}{
			{"/v1/licences?holder_id=%00", tok, 422, "holder_id"},
			{"/v1/licences?holder_id=350102%001990", tok, 422, "holder_id"},
			{"/v1/licences?type=%FF%FE", tok, 422, "type"},
			{"/v1/licences?type=a%0Ab", tok, 422, "type"},
			{"/v1/licences?%00=x", tok, 422, "query"},
			{"/v1/licences?cursor=" + cursorOf(math.MaxInt64, "x"), tok, 422, "cursor"},
			{"/v1/licences?cursor=" + cursorOf(math.MinInt64, "x"), tok, 422, "cursor"},
			{"/v1/licences?cursor=" + cursorOf(1e15, "a\x00b"), tok, 422, "cursor"},
			{"/v1/licences?cursor=" + cursorOf(1e15, "\xff\xfe"), tok, 422, "cursor"},
			{"/v1/licences?cursor=%00", tok, 422, "cursor"},
			{"/v1/licences/%00", tok, 400, "path"},
			{"/v1/licences/%C3%28", tok, 400, "path"},
			{"/v1/licences/a%00b/qr.png", tok, 400, "path"},
			{"/v1/status/%00", "", 400, "path"},
			{"/v1/admin/tokens?department=%00", op, 422, "department"},
			{"/v1/audit?after=%00", tok, 422, "after"},
		} {
			res := e.req("GET", c.path, c.token, nil)
			if res.status != c.status {
				t.Errorf("GET %s: %d, want %d: %s", c.path, res.status, c.status, res.body)
				continue
			}
			p := res.problem(t)
			if len(p.Errors) == 0 || p.Errors[0].Field != c.field || p.Errors[0].Reason == "" {
				t.Errorf("GET %s: errors %+v, want field %s with a reason", c.path, p.Errors, c.field)
			}
		}
	})
}

// TestCitizenIDMaskedInPath: a citizen ID typed into a URL path appears
// neither in the problem (instance, detail) nor in the request log; every
// answer says nosniff.
func TestCitizenIDMaskedInPath(t *testing.T) {
	st := issuertest.Backends()[0].Open(t)
	e := newEnv(t, st, issuer.Config{}, Config{})
	tok := e.tokens[issuertest.TokenIssuer]
	for _, path := range []string{"/v1/licences/" + citizenID, "/v1/licences/" + citizenID + "/qr.png", "/v1/nothing/" + citizenID} {
		res := e.req("GET", path, tok, nil)
		if res.status != 404 {
			t.Fatalf("GET %s: %d, want 404", path, res.status)
		}
		if strings.Contains(string(res.body), citizenID) || strings.Contains(string(res.body), citizenID[4:14]) {
			t.Errorf("GET %s: problem echoes the citizen ID: %s", path, res.body)
		}
		if !strings.Contains(string(res.body), "3501**********1234") {
			t.Errorf("GET %s: problem %s, want the masked ID in instance", path, res.body)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, citizenID) || strings.Contains(logs, citizenID[4:14]) {
		t.Errorf("request log holds the citizen ID:\n%s", logs)
	}
	for _, path := range []string{"/v1/trust-list", "/v1/licence-types", "/v1/licences/x", "/healthz", "/v1/openapi.yaml", "/nothing"} {
		if res := e.req("GET", path, tok, nil); res.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q, want nosniff", path, res.status, res.header.Get("X-Content-Type-Options"))
		}
	}
	if res := e.req("POST", "/v1/licences", tok, refBusiness); res.status != 201 || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("POST /v1/licences (%d): X-Content-Type-Options %q", res.status, res.header.Get("X-Content-Type-Options"))
	}
}
