package issuerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
		e := newEnv(t, st, issuer.Config{Wallet: issuer.WalletConfig{PresentationTTL: 30 * time.Second}}, Config{})
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
		if r.status != 201 || !strings.HasPrefix(p.QRText, "HTTP://ISSUER.TEST/V/LP2:") || p.RefreshSeconds != 30 || p.ExpiresAt.Sub(p.NotBefore) != 30*time.Second {
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
		if r.status != 201 || !strings.HasPrefix(c.QRText, "HTTP://ISSUER.TEST/V/LA2:") {
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
	})
}

// TestWalletCrossDepartment replays the attack of issue 8, item 1: a
// department token with scope issue only issues a throw-away licence to a
// citizen who holds another department's licence, makes a holder link and
// opens a wallet session. The session must reach only the attacker's own
// licence: the victim department's licence is not listed, and a
// presentation or a 90-day annotated copy of it is 404. The link, the
// session and every presentation and annotated copy are in the audit log
// under the actor that caused them, and the log holds no full ID number.
func TestWalletCrossDepartment(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		ctx := context.Background()
		victim := e.issue(refDriving) // issuertest.Dept's licence of citizenID
		_, attacker, err := e.svc.Admin.CreateToken(ctx, issuer.Operator(), issuer.TokenRequest{
			ID: "attacker", Department: issuertest.Other, Scopes: []store.Scope{store.ScopeIssue}, Name: "attacker",
		})
		if err != nil {
			t.Fatal(err)
		}
		r := e.req("POST", "/v1/licences", attacker, refDriving)
		if r.status != 201 {
			t.Fatalf("throw-away licence: %d %s", r.status, r.body)
		}
		var throwaway licenceJSON
		r.json(t, &throwaway)

		r = e.req("POST", "/v1/holder-links", attacker, `{"holder_id":"`+citizenID+`"}`)
		var link issuer.HolderLink
		r.json(t, &link)
		if r.status != 201 {
			t.Fatalf("holder link: %d %s", r.status, r.body)
		}
		r = e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+strings.TrimPrefix(link.URL, "/wallet#login=")+`"}`)
		var s issuer.WalletSession
		r.json(t, &s)
		if r.status != 200 || len(s.Departments) != 1 || s.Departments[0] != issuertest.Other {
			t.Fatalf("session: %d %s; want one reaching %s only", r.status, r.body, issuertest.Other)
		}

		var list struct {
			Licences []walletLicenceJSON `json:"licences"`
		}
		e.req("GET", "/v1/wallet/licences", s.Session, nil).json(t, &list)
		if len(list.Licences) != 1 || list.Licences[0].ID != throwaway.ID {
			t.Errorf("the attacker's session lists %+v, want only the throw-away licence %s", list.Licences, throwaway.ID)
		}
		lic := "/v1/wallet/licences/" + url.PathEscape(victim.ID)
		if r := e.req("POST", lic+"/presentations", s.Session, nil); r.status != 404 {
			t.Errorf("presentation of the victim's licence: %d %s, want 404", r.status, r.body)
		}
		if r := e.req("POST", lic+"/annotated-copies", s.Session, `{"relying_department":"`+issuertest.Other+`","purpose":"核验","expires_in_days":90}`); r.status != 404 {
			t.Errorf("annotated copy of the victim's licence: %d %s, want 404", r.status, r.body)
		}
		// The session does reach the attacker's own licence, and that is
		// audited under the session and the link that opened it.
		own := "/v1/wallet/licences/" + url.PathEscape(throwaway.ID)
		if r := e.req("POST", own+"/presentations", s.Session, nil); r.status != 201 {
			t.Fatalf("presentation of the department's own licence: %d %s", r.status, r.body)
		}
		if r := e.req("POST", own+"/annotated-copies", s.Session, `{"relying_department":"`+issuertest.Dept+`","purpose":"核验","expires_in_days":90}`); r.status != 201 {
			t.Fatalf("annotated copy of the department's own licence: %d %s", r.status, r.body)
		}
		// The victim's holder link opens a session that reaches the
		// victim's licence only.
		mine := e.walletSession(t, citizenID)
		e.req("GET", "/v1/wallet/licences", mine, nil).json(t, &list)
		if len(list.Licences) != 1 || list.Licences[0].ID != victim.ID {
			t.Errorf("the department's own link lists %+v, want only %s", list.Licences, victim.ID)
		}
		// A department's own presentation is audited under its token.
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(victim.ID)+"/presentations", e.tokens[issuertest.TokenIssuer], nil); r.status != 201 {
			t.Fatalf("department presentation: %d %s", r.status, r.body)
		}

		type detail struct {
			Issuer         string `json:"issuer"`
			Session        string `json:"session"`
			Link           string `json:"link"`
			LinkDepartment string `json:"link_department"`
			LinkToken      string `json:"link_token"`
			Holder         string `json:"holder"`
		}
		var entries []store.AuditEntry
		for after := int64(0); ; {
			es, err := st.ListAudit(ctx, after, store.MaxPageSize)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, es...)
			if len(es) < store.MaxPageSize {
				break
			}
			after = es[len(es)-1].Seq
		}
		var linkEntry, sessionEntry *detail
		var sessionActor string
		counts := map[string]int{}
		for _, en := range entries {
			if strings.Contains(string(en.Detail), citizenID) || strings.Contains(en.Subject, citizenID) {
				t.Errorf("audit entry %d (%s) holds the full ID number: %s", en.Seq, en.Action, en.Detail)
			}
			var d detail
			json.Unmarshal(en.Detail, &d)
			switch {
			case en.Action == issuer.ActionHolderLink && en.Actor == "attacker":
				linkEntry = &d
				if en.Subject != issuertest.Other || d.Holder != "3501**********1234" || d.Link == "" {
					t.Errorf("link entry: subject %s, detail %s", en.Subject, en.Detail)
				}
			case en.Action == issuer.ActionWalletSession && d.LinkToken == "attacker":
				sessionEntry, sessionActor = &d, en.Actor
			case en.Action == issuer.ActionPresentation || en.Action == issuer.ActionAnnotatedCopy:
				if en.Subject == victim.ID && en.Actor != issuertest.TokenIssuer {
					t.Errorf("%s of the victim's licence by %s (detail %s)", en.Action, en.Actor, en.Detail)
				}
				if en.Subject == throwaway.ID {
					counts[en.Action]++
					if en.Actor != sessionActor || d.LinkToken != "attacker" || d.LinkDepartment != issuertest.Other || d.Issuer != issuertest.Other || d.Session == "" {
						t.Errorf("%s of the throw-away licence: actor %s, detail %s; want the session %s and the attacker's link", en.Action, en.Actor, en.Detail, sessionActor)
					}
				}
				if en.Subject == victim.ID && en.Actor == issuertest.TokenIssuer {
					counts["department "+en.Action]++
				}
			}
		}
		if linkEntry == nil || sessionEntry == nil {
			t.Fatalf("audit lacks the attacker's link (%v) or session (%v)", linkEntry != nil, sessionEntry != nil)
		}
		if sessionActor != issuer.WalletActor(sessionEntry.Session) || sessionEntry.Link != linkEntry.Link || sessionEntry.LinkDepartment != issuertest.Other {
			t.Errorf("session entry: actor %s, detail %+v; want it tied to link %s", sessionActor, sessionEntry, linkEntry.Link)
		}
		if counts[issuer.ActionPresentation] != 1 || counts[issuer.ActionAnnotatedCopy] != 1 || counts["department "+issuer.ActionPresentation] != 1 {
			t.Errorf("audited signatures %v, want one presentation and one annotated copy by the session and one presentation by the department", counts)
		}
		if _, err := e.svc.Admin.VerifyAudit(ctx); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}

// TestRateLimitWallet: a wallet session is rate-limited like an API token,
// each session on its own, on the API's injected clock.
func TestRateLimitWallet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		var mu sync.Mutex
		now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}
		e := newEnv(t, st, issuer.Config{}, Config{RateLimit: 1, RateBurst: 2, Now: clock})
		l := e.issue(refDriving)
		s1 := e.walletSession(t, citizenID) // the issuer token's second request: its burst is spent
		s2 := e.sessionVia(t, issuertest.TokenIssueOnly, citizenID)
		for i := range 2 {
			if r := e.req("GET", "/v1/wallet/licences", s1, nil); r.status != 200 {
				t.Fatalf("wallet request %d: %d %s", i, r.status, r.body)
			}
		}
		pres := "/v1/wallet/licences/" + url.PathEscape(l.ID) + "/presentations"
		r := e.req("POST", pres, s1, nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
			t.Fatalf("third wallet request: %d, Retry-After %q; want 429 with Retry-After 1", r.status, r.header.Get("Retry-After"))
		}
		if p := r.problem(t); p.Status != 429 {
			t.Errorf("problem %+v", p)
		}
		if r := e.req("GET", "/v1/wallet/licences", s2, nil); r.status != 200 {
			t.Errorf("another session: %d, want 200", r.status)
		}
		if r := e.req("GET", "/v1/licences", e.tokens[issuertest.TokenIssuer], nil); r.status != http.StatusTooManyRequests {
			t.Errorf("the issuer token past its burst: %d, want 429", r.status)
		}
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		if r := e.req("POST", pres, s1, nil); r.status != 201 {
			t.Errorf("a second later on the API's clock: %d %s, want 201", r.status, r.body)
		}
		if r := e.req("GET", "/v1/licences", e.tokens[issuertest.TokenIssuer], nil); r.status != 200 {
			t.Errorf("the issuer token a second later: %d, want 200", r.status)
		}
	})
}
