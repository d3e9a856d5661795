package issuerapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/verifier"
)

// TestWallet walks the holder's path: a one-time link, a session, the
// holder's licences, a dynamic presentation that verifies until it goes
// stale, and an annotated copy that verifies only at its relying
// department.
func TestWallet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{PresentationTTL: 30 * time.Second}, Config{})
		mine := e.issue(refDriving)
		e.issue(refBusiness) // another holder's

		token := e.loginToken(t, citizenID)
		r := e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`)
		var s issuer.WalletSession
		r.json(t, &s)
		if r.status != 200 || s.HolderName != "李四" || time.Until(s.ExpiresAt) < 11*time.Hour {
			t.Fatalf("session: %d %s", r.status, r.body)
		}
		if r := e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`); r.status != http.StatusUnauthorized {
			t.Errorf("second use of a login token: %d, want 401", r.status)
		}

		var list struct {
			Licences []walletLicenceJSON `json:"licences"`
		}
		e.req("GET", "/v1/wallet/licences", s.Session, nil).json(t, &list)
		if len(list.Licences) != 1 {
			t.Fatalf("wallet lists %d licences, want 1", len(list.Licences))
		}
		w := list.Licences[0]
		if w.ID != mine.ID || w.HolderID != "3501**********1234" || w.TypeName != "机动车驾驶证" || w.IssuerName != issuer.DemoDepartmentName || w.QRText != mine.QRText || w.Status != "valid" {
			t.Errorf("wallet licence %+v", w)
		}

		r = e.req("POST", "/v1/wallet/licences/"+url.PathEscape(mine.ID)+"/presentations", s.Session, nil)
		var p issuer.Presentation
		r.json(t, &p)
		if r.status != 201 || !strings.HasPrefix(p.QRText, "LP1:") || p.RefreshSeconds != 30 || p.ExpiresAt.Sub(p.NotBefore) != 30*time.Second {
			t.Fatalf("presentation: %d %s", r.status, r.body)
		}
		cfg := e.verifyConfig()
		if rep := verifier.Verify(context.Background(), p.QRText, cfg); rep.Indication != verifier.Passed {
			t.Errorf("fresh presentation: %s/%s %s", rep.Indication, rep.SubIndication, rep.Reason)
		}
		stale := cfg
		stale.Now = func() time.Time { return p.ExpiresAt.Add(2 * time.Minute) }
		if rep := verifier.Verify(context.Background(), p.QRText, stale); rep.SubIndication != verifier.PresentationExpired {
			t.Errorf("stale presentation: %s/%s", rep.Indication, rep.SubIndication)
		}

		r = e.req("POST", "/v1/wallet/licences/"+url.PathEscape(mine.ID)+"/annotated-copies", s.Session,
			`{"relying_department":"`+issuertest.Other+`","purpose":"办理车辆登记","expires_in_days":7}`)
		var c issuer.AnnotatedCopy
		r.json(t, &c)
		if r.status != 201 || !strings.HasPrefix(c.QRText, "LA1:") {
			t.Fatalf("annotated copy: %d %s", r.status, r.body)
		}
		if rep := verifier.Verify(context.Background(), c.QRText, cfg); rep.Indication != verifier.Passed || rep.Annotation == nil || rep.Annotation.Purpose != "办理车辆登记" {
			t.Errorf("annotated copy at its department: %s/%s %s", rep.Indication, rep.SubIndication, rep.Reason)
		}
		elsewhere := cfg
		elsewhere.Department = issuertest.Dept
		if rep := verifier.Verify(context.Background(), c.QRText, elsewhere); rep.Indication != verifier.Failed {
			t.Errorf("annotated copy elsewhere: %s/%s", rep.Indication, rep.SubIndication)
		}

		// The wallet reaches only the holder's own licences.
		other := e.issue(refBusiness)
		if r := e.req("POST", "/v1/wallet/licences/"+url.PathEscape(other.ID)+"/presentations", s.Session, nil); r.status != 404 {
			t.Errorf("presentation of another holder's licence: %d, want 404", r.status)
		}
		// The department's presentation endpoint works the same way.
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(other.ID)+"/presentations", e.tokens[issuertest.TokenIssuer], nil); r.status != 201 {
			t.Errorf("department presentation: %d %s", r.status, r.body)
		}
		// No link for a holder the department never issued to.
		if r := e.req("POST", "/v1/holder-links", e.tokens[issuertest.TokenIssuer], `{"holder_id":"11010519491231002X"}`); r.status != 404 {
			t.Errorf("link for a stranger: %d, want 404", r.status)
		}
		var _ = store.StatusValid
	})
}
