package issuerapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/keys"
	"elicence/qr"
	"elicence/verifier"
)

// TestLifecycle issues a licence over HTTP, reads it back, renders its QR
// code, changes its status, and checks each state with the verifier core
// fed from the published trust and status lists.
func TestLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		l := e.issue(refBusiness)
		if l.Issuer != issuertest.Dept || l.Version != 1 || l.Status != "valid" || l.Serial != "00000001" {
			t.Fatalf("issued %+v", l)
		}
		if _, _, _, err := format.ParseAnyCredential(mustQR(t, l.QRText)); err != nil {
			t.Fatalf("qr_text: %v", err)
		}
		if l.ValidUntil != nil {
			t.Errorf("business licence valid_until = %q, want null (长期)", *l.ValidUntil)
		}

		// GET answers the same licence; the holder's code stays masked
		// (a credit code is public and shown whole).
		var got licenceJSON
		e.req("GET", "/v1/licences/"+url.PathEscape(l.ID), e.tokens[issuertest.TokenReader], nil).json(t, &got)
		if got.ID != l.ID || got.HolderID != "91350100MA2Y00001H" || got.QRText != l.QRText {
			t.Fatalf("GET = %+v", got)
		}
		d := e.issue(refDriving)
		if d.HolderID != "3501**********1234" {
			t.Errorf("driving licence holder_id %q, want masked", d.HolderID)
		}
		if d.ValidUntil == nil || *d.ValidUntil != "2030-01-12" {
			t.Errorf("driving licence valid_until %v, want the type's 6-year default", deref(d.ValidUntil))
		}
		if strings.Contains(string(e.req("GET", "/v1/licences/"+url.PathEscape(d.ID), tok, nil).body), citizenID) {
			t.Error("GET answer contains the full citizen ID")
		}

		// The PNG decodes to the licence's QR text; the ETag makes it 304.
		r := e.req("GET", l.Links.QRPNG, tok, nil)
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Fatalf("qr.png: %d %v", r.status, r.header)
		}
		text, err := qr.DecodeBytes(r.body)
		if err != nil || text != l.QRText {
			t.Fatalf("qr.png decodes to %q, %v; want the licence's qr_text", text, err)
		}
		if r2 := e.req("GET", l.Links.QRPNG, tok, nil, "If-None-Match", r.header.Get("ETag")); r2.status != http.StatusNotModified {
			t.Errorf("qr.png with If-None-Match: %d, want 304", r2.status)
		}
		if r := e.req("GET", l.Links.QRSVG, tok, nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(string(r.body), "<svg") {
			t.Errorf("qr.svg: %d %s", r.status, r.header.Get("Content-Type"))
		}

		cfg := e.verifyConfig()
		check := func(want verifier.SubIndication, wantInd verifier.Indication) {
			t.Helper()
			rep := verifier.Verify(context.Background(), l.QRText, cfg)
			if rep.Indication != wantInd || rep.SubIndication != want {
				t.Fatalf("verify: %s/%s (%s), want %s/%s", rep.Indication, rep.SubIndication, rep.Reason, wantInd, want)
			}
		}
		check("", verifier.Passed)

		post := func(path string, body any) resp {
			return e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+path, tok, body)
		}
		if r := post("/suspend", map[string]string{"reason": "investigation"}); r.status != 200 {
			t.Fatalf("suspend: %d %s", r.status, r.body)
		}
		check(verifier.Suspended, verifier.Failed)
		if r := post("/presentations", nil); r.status != http.StatusConflict {
			t.Errorf("presentation of a suspended licence: %d, want 409", r.status)
		}
		if r := post("/reinstate", nil); r.status != 200 {
			t.Fatalf("reinstate: %d %s", r.status, r.body)
		}
		check("", verifier.Passed)
		r = post("/revoke", map[string]string{"reason": "cancelled"})
		var rev licenceJSON
		r.json(t, &rev)
		if r.status != 200 || rev.Status != "revoked" || rev.StatusReason != "cancelled" {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		check(verifier.Revoked, verifier.Failed)

		// Listing filters by status and type, and pages with a cursor.
		var page struct {
			Licences   []licenceJSON `json:"licences"`
			NextCursor string        `json:"next_cursor"`
		}
		e.req("GET", "/v1/licences?status=revoked", tok, nil).json(t, &page)
		if len(page.Licences) != 1 || page.Licences[0].ID != l.ID {
			t.Errorf("status=revoked lists %d licences", len(page.Licences))
		}
		for range 3 {
			e.issue(refDriving)
		}
		var ids []string
		cursor := ""
		for n := 0; ; n++ {
			page.NextCursor = ""
			e.req("GET", "/v1/licences?limit=2&type="+issuer.TypeDrivingLicence+"&holder_id="+citizenID+"&cursor="+cursor, tok, nil).json(t, &page)
			for _, x := range page.Licences {
				ids = append(ids, x.ID)
			}
			if page.NextCursor == "" || n > 5 {
				break
			}
			cursor = url.QueryEscape(page.NextCursor)
		}
		if len(ids) != 4 {
			t.Errorf("paging the driving licences gave %d, want 4: %v", len(ids), ids)
		}
	})
}

func mustQR(t testing.TB, text string) []byte {
	t.Helper()
	k, b, err := format.ParseQRText(text)
	if err != nil || k != format.KindCredential {
		t.Fatalf("qr text %.20s…: %v", text, err)
	}
	return b
}

// TestReissue replaces a licence by version 2: the old one is revoked as
// superseded, the new one verifies and carries the changed fields.
func TestReissue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		l := e.issue(refBusiness)
		r := e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/reissue", tok, `{"fields": {"lr": "王五", "ra": "福建省福州市鼓楼区示例路2号"}}`)
		if r.status != http.StatusCreated {
			t.Fatalf("reissue: %d %s", r.status, r.body)
		}
		var n licenceJSON
		r.json(t, &n)
		if n.Version != 2 || n.Serial != l.Serial || n.Supersedes != l.ID || n.ID == l.ID {
			t.Fatalf("new version %+v", n)
		}
		_, _, cred, err := format.ParseAnyCredential(mustQR(t, n.QRText))
		if err != nil || cred == nil || cred.Fields["lr"] != "王五" {
			t.Fatalf("new credential (compact) fields %v, %v", cred, err)
		}
		var old licenceJSON
		e.req("GET", "/v1/licences/"+url.PathEscape(l.ID), tok, nil).json(t, &old)
		if old.Status != "revoked" || old.StatusReason != store.ReasonSuperseded {
			t.Errorf("old version is %s/%s, want revoked/superseded", old.Status, old.StatusReason)
		}
		cfg := e.verifyConfig()
		if rep := verifier.Verify(context.Background(), l.QRText, cfg); rep.SubIndication != verifier.Revoked {
			t.Errorf("old version verifies %s/%s, want REVOKED", rep.Indication, rep.SubIndication)
		}
		if rep := verifier.Verify(context.Background(), n.QRText, cfg); rep.Indication != verifier.Passed {
			t.Errorf("new version verifies %s/%s (%s)", rep.Indication, rep.SubIndication, rep.Reason)
		}
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/reissue", tok, `{}`); r.status != http.StatusConflict {
			t.Errorf("re-issuing a superseded version: %d, want 409", r.status)
		}
	})
}

// TestIdempotency: the same key and body return the same licence, the
// same key with another body is 409, and either way one licence exists.
func TestIdempotency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		a := e.req("POST", "/v1/licences", tok, refBusiness, "Idempotency-Key", "order-42")
		// The same request in other white space and key order.
		b := e.req("POST", "/v1/licences", tok, strings.ReplaceAll(refBusiness, ", ", ","), "Idempotency-Key", "order-42")
		if a.status != 201 || b.status != 201 || b.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("statuses %d, %d (replayed %q)", a.status, b.status, b.header.Get("Idempotent-Replayed"))
		}
		var la, lb licenceJSON
		a.json(t, &la)
		b.json(t, &lb)
		if la.ID != lb.ID {
			t.Fatalf("same key and body gave %s and %s", la.ID, lb.ID)
		}
		c := e.req("POST", "/v1/licences", tok, refDriving, "Idempotency-Key", "order-42")
		if c.status != http.StatusConflict {
			t.Fatalf("same key, other body: %d, want 409", c.status)
		}
		ls, _, err := st.ListLicences(context.Background(), store.LicenceQuery{DepartmentCode: issuertest.Dept})
		if err != nil || len(ls) != 1 {
			t.Fatalf("%d licences stored, want 1 (%v)", len(ls), err)
		}
	})
}

// TestRateLimit: past its burst a token is answered 429 with Retry-After,
// and other tokens are not affected.
func TestRateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{RateLimit: 0.5, RateBurst: 3})
		for i := range 3 {
			if r := e.req("GET", "/v1/licences", e.tokens[issuertest.TokenReader], nil); r.status != 200 {
				t.Fatalf("request %d: %d", i, r.status)
			}
		}
		r := e.req("GET", "/v1/licences", e.tokens[issuertest.TokenReader], nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("4th request: %d, Retry-After %q; want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		if p := r.problem(t); p.Status != 429 {
			t.Errorf("problem status %d", p.Status)
		}
		if r := e.req("GET", "/v1/licences", e.tokens[issuertest.TokenIssuer], nil); r.status != 200 {
			t.Errorf("another token: %d, want 200", r.status)
		}
	})
}

// TestNoSecretsInLogs runs a session of requests and checks that the logs
// hold neither token secrets nor the full citizen ID.
func TestNoSecretsInLogs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		d := e.issue(refDriving)
		e.req("GET", "/v1/licences?holder_id="+citizenID, e.tokens[issuertest.TokenIssuer], nil)
		e.req("POST", "/v1/licences/"+url.PathEscape(d.ID)+"/revoke", e.tokens[issuertest.TokenIssuer], `{"reason":"bogus"}`)
		e.req("GET", "/v1/licences", "elc_wrong", nil)
		e.req("POST", "/v1/licences", e.tokens[issuertest.TokenIssuer], strings.Replace(refDriving, "1234", "1235", 1))
		logs := e.logs.String()
		if !strings.Contains(logs, `"request_id"`) {
			t.Fatalf("no request logs: %q", logs)
		}
		for name, secret := range e.tokens {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain the %s token", name)
			}
		}
		for _, s := range []string{citizenID, "350102199003071235", "elc_wrong"} {
			if strings.Contains(logs, s) {
				t.Errorf("logs contain %q", s)
			}
		}
	})
}

// TestPublication covers the trust list, status lists, keys, catalogue
// and departments as a CDN would see them.
func TestPublication(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		ttl := 120 * time.Second
		now := time.Now()
		clock := func() time.Time { return now }
		e := newEnv(t, st, issuer.Config{Publication: issuer.PublicationConfig{StatusTTL: ttl}, Now: clock}, Config{})
		l := e.issue(refBusiness)

		r := e.req("GET", "/v1/status/"+l.StatusList, "", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "application/cbor" || r.header.Get("Cache-Control") != "public, max-age=120" || r.header.Get("ETag") == "" {
			t.Fatalf("status list: %d %v", r.status, r.header)
		}
		_, sl, err := format.ParseStatusList(r.body)
		if err != nil || sl.Size < format.MinStatusListSize || sl.TTL != 120 || sl.Issuer != issuertest.Dept || sl.List != l.StatusList {
			t.Fatalf("status list %+v: %v", sl, err)
		}
		if r2 := e.req("GET", "/v1/status/"+l.StatusList, "", nil, "If-None-Match", r.header.Get("ETag")); r2.status != http.StatusNotModified || len(r2.body) != 0 {
			t.Errorf("If-None-Match: %d, want 304", r2.status)
		}
		// Unchanged revision within half the TTL: the same signed bytes.
		now = now.Add(ttl/2 - time.Second)
		if r2 := e.req("GET", "/v1/status/"+l.StatusList, "", nil); string(r2.body) != string(r.body) {
			t.Error("status list re-signed although unchanged and fresh")
		}
		// A revocation changes the list at once; the clock going back
		// does not make issued-at go back.
		e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/revoke", e.tokens[issuertest.TokenIssuer], `{"reason":"withdrawn"}`)
		now = now.Add(-time.Hour)
		r3 := e.req("GET", "/v1/status/"+l.StatusList, "", nil)
		_, sl3, err := format.ParseStatusList(r3.body)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := sl3.Statuses()
		if entries.Get(l.StatusIndex) != format.StatusRevoked || sl3.IssuedAt < sl.IssuedAt || r3.header.Get("ETag") == r.header.Get("ETag") {
			t.Errorf("after revocation: entry %s, issued at %d (before %d)", entries.Get(l.StatusIndex), sl3.IssuedAt, sl.IssuedAt)
		}
		if r := e.req("GET", "/v1/status/NOPE-1", "", nil); r.status != 404 {
			t.Errorf("unknown list: %d", r.status)
		}

		r = e.req("GET", "/v1/trust-list", "", nil)
		trust, err := verifier.NewTrust(&e.f.Root.Key.PublicKey, r.body, time.Now())
		if err != nil {
			t.Fatalf("trust list: %v", err)
		}
		d := trust.List.Department(issuertest.Dept)
		if d == nil || !d.MayIssue(issuer.TypeFoodPermit) || d.StatusURL != "http://issuer.test/v1/status/{list}" || len(d.Keys) != 1 {
			t.Fatalf("trust list department %+v", d)
		}
		if o := trust.List.Department(issuertest.Other); o == nil || o.MayIssue(issuer.TypeBusinessLicence) {
			t.Errorf("other department %+v", o)
		}
		if trust.List.Type(issuer.TypeBusinessLicence) == nil || len(trust.List.Types) != 3 {
			t.Errorf("catalogue has %d types", len(trust.List.Types))
		}
		if r2 := e.req("GET", "/v1/trust-list", "", nil, "If-None-Match", r.header.Get("ETag")); r2.status != 304 {
			t.Errorf("trust list If-None-Match: %d", r2.status)
		}

		// An admitted department appears with a higher sequence number.
		if r := e.req("POST", "/v1/admin/departments", e.tokens[issuertest.TokenOperator], `{"code":"NEWDEPT1","name":"新部门","types":["11100000MB0000001T002"]}`); r.status != 201 {
			t.Fatalf("admit department: %d %s", r.status, r.body)
		}
		now = now.Add(2 * time.Hour)
		r2 := e.req("GET", "/v1/trust-list", "", nil)
		trust2, err := verifier.NewTrust(&e.f.Root.Key.PublicKey, r2.body, time.Now())
		if err != nil || trust2.List.Department("NEWDEPT1") == nil || trust2.List.Sequence <= trust.List.Sequence {
			t.Fatalf("trust list after admission: seq %d → %v", trust.List.Sequence, err)
		}

		keyID := fmt.Sprintf("%x", d.Keys[0].ID)
		for path, want := range map[string]string{
			"/v1/keys/root.crt":          "BEGIN CERTIFICATE",
			"/v1/keys/" + keyID + ".pem": "BEGIN PUBLIC KEY",
			"/v1/keys/" + keyID + ".crt": "BEGIN CERTIFICATE",
			"/v1/licence-types":          "营业执照",
			"/v1/departments":            issuertest.Dept,
		} {
			if r := e.req("GET", path, "", nil); r.status != 200 || !strings.Contains(string(r.body), want) {
				t.Errorf("GET %s: %d, want %q in %.80s", path, r.status, want, r.body)
			}
		}
		if r := e.req("GET", "/v1/keys/0000000000000000.pem", "", nil); r.status != 404 {
			t.Errorf("unknown key: %d", r.status)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestOperations covers /healthz, /readyz (503 once the database is gone)
// and the Prometheus metrics the issue asks for.
func TestOperations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		l := e.issue(refBusiness)
		e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/revoke", e.tokens[issuertest.TokenIssuer], `{"reason":"cancelled"}`)
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := e.req("GET", p, "", nil); r.status != 200 {
				t.Errorf("GET %s: %d", p, r.status)
			}
		}
		m := string(e.req("GET", "/metrics", "", nil).body)
		for _, want := range []string{
			`elicence_http_requests_total{method="POST",route="/v1/licences",status="201"} 1`,
			`elicence_http_request_duration_seconds_bucket{method="POST",route="/v1/licences/{id}/revoke"`,
			`elicence_issuer_licences_issued_total{mode="single"} 1`,
			`elicence_issuer_status_changes_total{status="revoked"} 1`,
			`elicence_issuer_signing_seconds_count{object="credential"} 1`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s in\n%s", want, grepLines(m, "elicence_http_requests_total"))
			}
		}
		st.Close()
		if r := e.req("GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable {
			t.Errorf("readyz with the database closed: %d, want 503", r.status)
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestOperatorSignedTrustList: an issuer without the root key serves the
// operator-signed trust list it was given, byte for byte, and the root
// certificate, and refuses to admit departments (it cannot certify keys).
func TestOperatorSignedTrustList(t *testing.T) {
	root := issuertest.Root(t)
	now := time.Now()
	signed, err := format.SignTrustList(root.Key, format.TrustList{Sequence: 7, IssuedAt: now.Unix(), NextUpdate: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	raw := signed.Encode()
	e := newEnv(t, issuertest.SQLite(t), issuer.Config{Publication: issuer.PublicationConfig{TrustList: raw, RootCertificate: keysPEM(root)}}, Config{})
	r := e.req("GET", "/v1/trust-list", "", nil)
	if r.status != 200 || string(r.body) != string(raw) {
		t.Fatalf("trust list: %d, same bytes %v", r.status, string(r.body) == string(raw))
	}
	if r := e.req("GET", "/v1/keys/root.crt", "", nil); r.status != 200 || !strings.Contains(string(r.body), "BEGIN CERTIFICATE") {
		t.Errorf("root.crt: %d", r.status)
	}
	if r := e.req("POST", "/v1/admin/departments", e.tokens[issuertest.TokenOperator], `{"code":"NEWDEPT2","name":"新部门"}`); r.status != http.StatusServiceUnavailable {
		t.Errorf("admitting a department without the root key: %d, want 503", r.status)
	}
	// Issuing works without the root key.
	e.issue(refDriving)
}

func keysPEM(p keys.Pair) []byte { return keys.CertificatePEM(p.Cert.Raw) }

// TestStatusReasons: the status lists say why and when a licence was
// revoked or suspended (docs/FORMAT.md §9.2), and the verifier reports it,
// on both stores: a penalty, an investigation and a re-issue each come
// back as their reason code with the time of the change.
func TestStatusReasons(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		penalty, suspended, replaced, kept := e.issue(refBusiness), e.issue(refBusiness), e.issue(refBusiness), e.issue(refBusiness)
		before := time.Now().Add(-time.Second).Truncate(time.Second)
		for _, c := range []struct{ id, action, reason string }{
			{penalty.ID, "revoke", "penalty"}, {suspended.ID, "suspend", "investigation"},
		} {
			if r := e.req("POST", "/v1/licences/"+url.PathEscape(c.id)+"/"+c.action, tok, `{"reason": "`+c.reason+`"}`); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", c.action, r.status, r.body)
			}
		}
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(replaced.ID)+"/reissue", tok, `{}`); r.status != http.StatusCreated {
			t.Fatalf("reissue: %d %s", r.status, r.body)
		}
		after := time.Now().Add(time.Second)
		cfg := e.verifyConfig()
		for _, c := range []struct {
			l      licenceJSON
			sub    verifier.SubIndication
			reason string
		}{
			{penalty, verifier.Revoked, "penalty"}, {suspended, verifier.Suspended, "investigation"}, {replaced, verifier.Revoked, "superseded"},
		} {
			rep := verifier.Verify(context.Background(), c.l.QRText, cfg)
			if rep.SubIndication != c.sub || rep.Status == nil {
				t.Errorf("%s: %s/%s, want %s", c.reason, rep.Indication, rep.SubIndication, c.sub)
				continue
			}
			if rep.Status.Reason != c.reason {
				t.Errorf("%s: report says reason %q", c.reason, rep.Status.Reason)
			}
			if at := rep.Status.ChangedAt; at.Before(before) || at.After(after) || at.After(rep.Status.IssuedAt) {
				t.Errorf("%s: changed at %s, want between %s and %s and no later than the list's %s", c.reason, at, before, after, rep.Status.IssuedAt)
			}
			if !strings.Contains(rep.Reason, c.reason) {
				t.Errorf("%s: report reason %q does not say it", c.reason, rep.Reason)
			}
		}
		if rep := verifier.Verify(context.Background(), kept.QRText, cfg); rep.Indication != verifier.Passed || rep.Status.Reason != "" || !rep.Status.ChangedAt.IsZero() {
			t.Errorf("a valid licence: %s, reason %q, changed at %s", rep.Indication, rep.Status.Reason, rep.Status.ChangedAt)
		}
	})
}
