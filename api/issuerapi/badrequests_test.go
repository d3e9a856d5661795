package issuerapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// TestBadRequests sends a table of bad requests. Each must get its own 4xx
// as problem details (naming the field for validation failures), and
// afterwards no stored row may have changed: not the audit chain (which
// every change extends), the licences, the status lists (their revisions
// and allocation counts) or the tokens.
func TestBadRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		ctx := context.Background()
		tok, reader, issueOnly, other, op := e.tokens[issuertest.TokenIssuer], e.tokens[issuertest.TokenReader],
			e.tokens[issuertest.TokenIssueOnly], e.tokens[issuertest.TokenOther], e.tokens[issuertest.TokenOperator]

		// Set-up: a valid licence, a revoked one, another department's,
		// a used idempotency key and a revoked token.
		valid := e.issue(refBusiness)
		revoked := e.issue(refDriving)
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(revoked.ID)+"/revoke", tok, `{"reason":"cancelled"}`); r.status != 200 {
			t.Fatalf("set-up revoke: %d %s", r.status, r.body)
		}
		r := e.req("POST", "/v1/licences", other, refDriving)
		if r.status != 201 {
			t.Fatalf("set-up other department: %d %s", r.status, r.body)
		}
		var foreign licenceJSON
		r.json(t, &foreign)
		if r := e.req("POST", "/v1/licences", tok, refBusiness, "Idempotency-Key", "used-key"); r.status != 201 {
			t.Fatalf("set-up idempotency: %d", r.status)
		}
		_, oldSecret, err := e.svc.Admin.CreateToken(ctx, issuer.Operator(), issuer.TokenRequest{ID: "old", Department: issuertest.Dept, Scopes: []store.Scope{store.ScopeRead, store.ScopeIssue}, Name: "old"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Admin.RevokeToken(ctx, issuer.Operator(), "old"); err != nil {
			t.Fatal(err)
		}

		lic := func(id, suffix string) string { return "/v1/licences/" + url.PathEscape(id) + suffix }
		bad := func(from, to string) string {
			if !strings.Contains(refBusiness, from) {
				t.Fatalf("reference request has no %q", from)
			}
			return strings.Replace(refBusiness, from, to, 1)
		}
		badDriving := func(from, to string) string {
			if !strings.Contains(refDriving, from) {
				t.Fatalf("reference request has no %q", from)
			}
			return strings.Replace(refDriving, from, to, 1)
		}
		future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
		tooFar := time.Now().Add(100 * 24 * time.Hour).UTC().Format(time.RFC3339)
		huge := `{"type":"` + strings.Repeat("A", 70<<10) + `"}`

		cases := []struct {
			name         string
			method, path string
			token        string
			body         string
			hdr          []string
			status       int
			field        string // for 422: a field that must be named
		}{
			{"malformed JSON", "POST", "/v1/licences", tok, `{"type": `, nil, 400, ""},
			{"not JSON at all", "POST", "/v1/licences", tok, `type=x`, nil, 400, ""},
			{"empty body", "POST", "/v1/licences", tok, ``, nil, 400, ""},
			{"two JSON values", "POST", "/v1/licences", tok, refBusiness + refBusiness, nil, 400, ""},
			{"unknown field", "POST", "/v1/licences", tok, bad(`"valid_from"`, `"colour": "red", "valid_from"`), nil, 422, "colour"},
			{"wrong type: name is a number", "POST", "/v1/licences", tok, bad(`"福州示例科技有限公司"`, `42`), nil, 422, "holder_name"},
			{"wrong type: fields is a list", "POST", "/v1/licences", tok, `{"type":"11100000MB0000001T001","fields":["lr"]}`, nil, 422, "fields"},
			{"missing holder ID", "POST", "/v1/licences", tok, bad(`"holder_id": "91350100MA2Y00001H", `, ``), nil, 422, "holder_id"},
			{"bad credit code check character", "POST", "/v1/licences", tok, bad(`91350100MA2Y00001H`, `91350100MA2Y00001J`), nil, 422, "holder_id"},
			{"bad citizen ID check digit", "POST", "/v1/licences", tok, badDriving(citizenID, "350102199003071235"), nil, 422, "holder_id"},
			{"citizen ID with impossible birth date", "POST", "/v1/licences", tok, badDriving(citizenID, "350102199013071234"), nil, 422, "holder_id"},
			{"reversed dates", "POST", "/v1/licences", tok, bad(`"valid_from": "2024-03-01"`, `"valid_from": "2024-03-01", "valid_until": "2023-03-01"`), nil, 422, "valid_until"},
			{"malformed date", "POST", "/v1/licences", tok, bad(`2024-03-01`, `01/03/2024`), nil, 422, "valid_from"},
			{"unknown licence type", "POST", "/v1/licences", tok, bad(`11100000MB0000001T001`, `11100000MB0000001T999`), nil, 422, "type"},
			{"missing licence type", "POST", "/v1/licences", tok, bad(`"type": "11100000MB0000001T001", `, ``), nil, 422, "type"},
			{"required field missing", "POST", "/v1/licences", tok, bad(`"lr": "张三", `, ``), nil, 422, "fields.lr"},
			{"field breaks its pattern", "POST", "/v1/licences", tok, badDriving(`"cc": "C1"`, `"cc": "Z9"`), nil, 422, "fields.cc"},
			{"field the type does not have", "POST", "/v1/licences", tok, bad(`"lr": "张三"`, `"lr": "张三", "zz": "x"`), nil, 422, "fields.zz"},
			{"field too long", "POST", "/v1/licences", tok, bad(`"张三"`, `"`+strings.Repeat("张", 33)+`"`), nil, 422, "fields.lr"},
			{"oversized body", "POST", "/v1/licences", tok, huge, nil, 413, ""},
			{"wrong content type", "POST", "/v1/licences", tok, refBusiness, []string{"Content-Type", "text/plain"}, 415, ""},
			{"type not authorised", "POST", "/v1/licences", other, refBusiness, nil, 403, ""},
			{"missing token", "POST", "/v1/licences", "", refBusiness, nil, 401, ""},
			{"unknown token", "POST", "/v1/licences", "elc_not-a-token", refBusiness, nil, 401, ""},
			{"revoked token", "POST", "/v1/licences", oldSecret, refBusiness, nil, 401, ""},
			{"basic instead of bearer", "GET", "/v1/licences", "", "", []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, ""},
			{"read-only token issues", "POST", "/v1/licences", reader, refBusiness, nil, 403, ""},
			{"issue-only token revokes", "POST", lic(valid.ID, "/revoke"), issueOnly, `{"reason":"cancelled"}`, nil, 403, ""},
			{"issue-only token re-issues, which revokes", "POST", lic(valid.ID, "/reissue"), issueOnly, `{}`, nil, 403, ""},
			{"read-only token signs a presentation", "POST", lic(valid.ID, "/presentations"), reader, "", nil, 403, ""},
			{"read-only token signs an annotated copy", "POST", lic(valid.ID, "/annotated-copies"), reader, `{"relying_department":"11350100MB00000025","purpose":"核验","expires_in_days":7}`, nil, 403, ""},
			{"read-only token makes a holder link", "POST", "/v1/holder-links", reader, `{"holder_id":"91350100MA2Y00001H"}`, nil, 403, ""},
			{"API token as a wallet session", "GET", "/v1/wallet/licences", tok, "", nil, 401, ""},
			{"department token on admin", "POST", "/v1/admin/tokens", tok, `{"department":"11350100MB00000012","scopes":["read"],"name":"x"}`, nil, 403, ""},
			{"operator token issues", "POST", "/v1/licences", op, refBusiness, nil, 403, ""},
			{"another department's licence", "GET", lic(foreign.ID, ""), tok, "", nil, 404, ""},
			{"revoke another department's licence", "POST", lic(foreign.ID, "/revoke"), tok, `{"reason":"cancelled"}`, nil, 404, ""},
			{"QR of another department's licence", "GET", lic(foreign.ID, "/qr.png"), tok, "", nil, 404, ""},
			{"no such licence", "GET", lic(strings.Replace(valid.ID, ".00000001.", ".00009999.", 1), ""), tok, "", nil, 404, ""},
			{"malformed licence ID", "GET", "/v1/licences/not-an-id", tok, "", nil, 404, ""},
			{"revoke twice", "POST", lic(revoked.ID, "/revoke"), tok, `{"reason":"cancelled"}`, nil, 409, ""},
			{"reinstate a revoked licence", "POST", lic(revoked.ID, "/reinstate"), tok, "", nil, 409, ""},
			{"suspend a revoked licence", "POST", lic(revoked.ID, "/suspend"), tok, `{"reason":"investigation"}`, nil, 409, ""},
			{"reinstate a valid licence", "POST", lic(valid.ID, "/reinstate"), tok, "", nil, 409, ""},
			{"re-issue a revoked licence", "POST", lic(revoked.ID, "/reissue"), tok, `{}`, nil, 409, ""},
			{"unknown revocation reason", "POST", lic(valid.ID, "/revoke"), tok, `{"reason":"because"}`, nil, 422, "reason"},
			{"revocation without a body", "POST", lic(valid.ID, "/revoke"), tok, "", nil, 400, ""},
			{"idempotency key with another body", "POST", "/v1/licences", tok, refDriving, []string{"Idempotency-Key", "used-key"}, 409, ""},
			{"idempotency key too long", "POST", "/v1/licences", tok, refBusiness, []string{"Idempotency-Key", strings.Repeat("k", 129)}, 422, "Idempotency-Key"},
			{"presentation of a revoked licence", "POST", lic(revoked.ID, "/presentations"), tok, "", nil, 409, ""},
			{"annotated copy of a revoked licence", "POST", lic(revoked.ID, "/annotated-copies"), tok, `{"relying_department":"11350100MB00000025","purpose":"核验","expires_at":"` + future + `"}`, nil, 409, ""},
			{"annotated copy beyond 90 days", "POST", lic(valid.ID, "/annotated-copies"), tok, `{"relying_department":"11350100MB00000025","purpose":"核验","expires_at":"` + tooFar + `"}`, nil, 422, "expires_at"},
			{"annotated copy in the past", "POST", lic(valid.ID, "/annotated-copies"), tok, `{"relying_department":"11350100MB00000025","purpose":"核验","expires_at":"2020-01-01T00:00:00Z"}`, nil, 422, "expires_at"},
			{"annotated copy for an unknown department", "POST", lic(valid.ID, "/annotated-copies"), tok, `{"relying_department":"NOSUCHDEPT","purpose":"核验","expires_at":"` + future + `"}`, nil, 422, "relying_department"},
			{"annotated copy with a malformed time", "POST", lic(valid.ID, "/annotated-copies"), tok, `{"relying_department":"11350100MB00000025","purpose":"核验","expires_at":"tomorrow"}`, nil, 422, "expires_at"},
			{"list with an unknown status", "GET", "/v1/licences?status=lost", tok, "", nil, 422, "status"},
			{"list with a malformed cursor", "GET", "/v1/licences?cursor=%21%21", tok, "", nil, 422, "cursor"},
			{"list with a bad limit", "GET", "/v1/licences?limit=0", tok, "", nil, 422, "limit"},
			{"holder link for a malformed ID", "POST", "/v1/holder-links", tok, `{"holder_id":"123"}`, nil, 422, "holder_id"},
			{"wallet session with an unknown login token", "POST", "/v1/wallet/session", "", `{"login_token":"nope"}`, nil, 401, ""},
			{"wallet without a session", "GET", "/v1/wallet/licences", "", "", nil, 401, ""},
			{"batch in an unknown format", "POST", "/v1/licences/batch", tok, refBusiness, []string{"Content-Type", "application/xml"}, 415, ""},
			{"batch CSV without the required columns", "POST", "/v1/licences/batch", tok, "type,colour\nx,red\n", []string{"Content-Type", "text/csv"}, 422, "(header)"},
			{"batch size out of range", "POST", "/v1/licences/batch?batch_size=0", tok, refBusiness, []string{"Content-Type", "application/x-ndjson"}, 422, "batch_size"},
			{"token with an unknown scope", "POST", "/v1/admin/tokens", op, `{"department":"11350100MB00000012","scopes":["delete"],"name":"x"}`, nil, 422, "scopes"},
			{"unknown status list", "GET", "/v1/status/NOPE-1", "", "", nil, 404, ""},
			{"bad Last-Event-ID", "GET", "/v1/events", "", "", []string{"Last-Event-ID", "yesterday"}, 422, "Last-Event-ID"},
			{"unknown route", "GET", "/v1/nothing-here", "", "", nil, 404, ""},
			{"wrong method", "DELETE", "/v1/trust-list", "", "", nil, 405, ""},
		}
		if len(cases) < 30 {
			t.Fatalf("only %d cases", len(cases))
		}
		before := takeSnapshot(t, st)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				r := e.req(c.method, c.path, c.token, body, c.hdr...)
				if r.status != c.status {
					t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, r.status, c.status, r.body)
				}
				p := r.problem(t)
				if p.Status != c.status || p.Title == "" || !strings.HasPrefix(p.Type, "https://") {
					t.Errorf("problem %+v", p)
				}
				if c.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") && c.path != "/v1/wallet/session" {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
				if c.field != "" {
					found := false
					for _, f := range p.Errors {
						found = found || f.Field == c.field
					}
					if !found {
						t.Errorf("errors %+v do not name field %q", p.Errors, c.field)
					}
				}
			})
		}
		after := takeSnapshot(t, st)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("bad requests changed stored rows: audit %d → %d entries, licences %d → %d",
				len(before.audit), len(after.audit), len(before.licences), len(after.licences))
		}
		if res := e.req("GET", "/v1/licences/"+url.PathEscape(valid.ID), tok, nil); !strings.Contains(string(res.body), `"status":"valid"`) {
			t.Errorf("the valid licence changed: %s", res.body)
		}
		_ = http.StatusOK
	})
}

// TestMangledBodies sends the reference request mangled at random (bytes
// flipped, dropped, repeated, truncated) and demands a 201 or a 4xx, never
// a 5xx: bad input never reaches an internal error.
func TestMangledBodies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		rng := rand.New(rand.NewPCG(1, 2))
		tok := e.tokens[issuertest.TokenIssuer]
		for i := range 300 {
			b := []byte(refBusiness)
			for range 1 + rng.IntN(3) {
				if len(b) < 2 {
					break
				}
				p := rng.IntN(len(b))
				switch rng.IntN(4) {
				case 0:
					b[p] = byte(rng.IntN(256))
				case 1:
					b = append(b[:p], b[p+1:]...)
				case 2:
					b = append(b[:p], append([]byte{b[p]}, b[p:]...)...)
				case 3:
					b = b[:p]
				}
			}
			path := "/v1/licences"
			if i%3 == 0 {
				path = "/v1/licences/batch"
			}
			r := e.req("POST", path, tok, b, "Content-Type", map[bool]string{true: "application/x-ndjson", false: "application/json"}[path != "/v1/licences"])
			if r.status >= 500 {
				t.Fatalf("%s with %q: %d %s", path, b, r.status, r.body)
			}
		}
	})
}
