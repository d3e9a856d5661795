package issuerapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/verifier"
)

// allLicences returns every licence of dept.
func allLicences(t testing.TB, st store.Store, dept string) []store.Licence {
	t.Helper()
	var out []store.Licence
	q := store.LicenceQuery{DepartmentCode: dept, Limit: store.MaxPageSize}
	for {
		page, next, err := st.ListLicences(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.Cursor = next
	}
}

// TestReissueKey issues licences under a key, rotates it away and proves
// the remedy: a licence of the retired key gets no presentation (409
// telling the department to re-issue); a re-issue cut short after its
// first batch (the context cancelled, as a crash would) and then run again
// through the operator route leaves every still-valid licence with
// exactly one new version, signed by the new key, which verifies PASSED
// (the suspended one SUSPENDED), its old version superseded; revoked and
// expired licences are left alone; a third run does nothing; the wallet
// lists the new versions only and presents them; the audit chain holds.
func TestReissueKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok, op := e.tokens[issuertest.TokenIssuer], e.tokens[issuertest.TokenOperator]
		old, err := st.ActiveSigningKey(ctx, issuertest.Dept)
		if err != nil {
			t.Fatal(err)
		}
		const n = 17
		var issued []licenceJSON
		for i := range n {
			body := refBusiness
			if i%3 == 1 {
				body = refDriving
			}
			issued = append(issued, e.issue(body))
		}
		expired := e.issue(strings.Replace(refBusiness, `"valid_from": "2024-03-01"`, `"valid_from": "2024-03-01", "valid_until": "2024-06-30"`, 1))
		suspended, revoked := issued[3], issued[4]
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(suspended.ID)+"/suspend", tok, `{"reason":"investigation"}`); r.status != 200 {
			t.Fatalf("suspend: %d %s", r.status, r.body)
		}
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(revoked.ID)+"/revoke", tok, `{"reason":"cancelled"}`); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		otherBefore := allLicences(t, st, issuertest.Other)

		reissueURL := "/v1/admin/departments/" + issuertest.Dept + "/keys/" + old.ID + "/reissue"
		if r := e.req("POST", reissueURL, op, nil); r.status != http.StatusConflict {
			t.Errorf("re-issue under the active key itself: %d %s, want 409", r.status, r.body)
		}
		r := e.req("POST", "/v1/admin/departments/"+issuertest.Dept+"/keys", op, nil)
		var nk keyJSON
		r.json(t, &nk)
		if r.status != http.StatusCreated {
			t.Fatalf("new key: %d %s", r.status, r.body)
		}

		// The old key signs nothing new: no presentation of its licences.
		r = e.req("POST", "/v1/licences/"+url.PathEscape(issued[0].ID)+"/presentations", tok, nil)
		if r.status != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "re-issue") {
			t.Errorf("presentation of a licence of the retired key: %d %s, want 409 telling to re-issue", r.status, r.body)
		}

		// A department token may not run the remedy.
		if r := e.req("POST", reissueURL, tok, nil); r.status != http.StatusForbidden {
			t.Errorf("re-issue with a department token: %d, want 403", r.status)
		}

		// Crash after the first batch of 5.
		cctx, cancel := context.WithCancel(ctx)
		sum, err := e.svc.Licences.ReissueKey(cctx, issuer.Operator(), issuertest.Dept, old.ID, issuer.ReissueKeyOptions{
			BatchSize: 5, Workers: 1, Progress: func(issuer.ReissueKeySummary) { cancel() },
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run: %+v, %v; want context.Canceled", sum, err)
		}
		if sum.Reissued != 5 {
			t.Fatalf("cancelled run re-issued %d, want the first batch of 5", sum.Reissued)
		}

		// Resume through the route.
		r = e.req("POST", reissueURL, op, `{"batch_size": 4}`)
		var got issuer.ReissueKeySummary
		r.json(t, &got)
		eligible := n - 1 // all but the revoked one (and the expired one, not counted in n)
		if r.status != http.StatusOK || got.Reissued != eligible-5 || got.Eligible != eligible-5 || got.Expired != 1 ||
			got.NewKey != nk.ID || got.KeyState != "retired" {
			t.Fatalf("resumed run: %d %s; want %d re-issued under %s, 1 expired", r.status, r.body, eligible-5, nk.ID)
		}
		// And again: nothing left.
		r = e.req("POST", reissueURL, op, nil)
		r.json(t, &got)
		if r.status != http.StatusOK || got.Reissued != 0 || got.Eligible != 0 {
			t.Errorf("third run: %d %s; want nothing re-issued", r.status, r.body)
		}

		all := allLicences(t, st, issuertest.Dept)
		byID := map[string]store.Licence{}
		successors := map[string][]store.Licence{}
		for _, l := range all {
			byID[l.ID] = l
			if l.Supersedes != "" {
				successors[l.Supersedes] = append(successors[l.Supersedes], l)
			}
		}
		cfg := e.verifyConfig()
		var newIDs []string
		for _, l := range issued {
			s := successors[l.ID]
			if l.ID == revoked.ID {
				if len(s) != 0 {
					t.Errorf("revoked licence %s was re-issued", l.ID)
				}
				continue
			}
			if len(s) != 1 {
				t.Errorf("licence %s has %d new versions, want exactly 1", l.ID, len(s))
				continue
			}
			nv := s[0]
			newIDs = append(newIDs, nv.ID)
			if ov := byID[l.ID]; ov.Status != store.StatusRevoked || ov.StatusReason != store.ReasonSuperseded {
				t.Errorf("old version %s is %s (%s), want revoked (superseded)", l.ID, ov.Status, ov.StatusReason)
			}
			if nv.Version != l.Version+1 || nv.HolderCode != byID[l.ID].HolderCode || string(nv.Fields) != string(byID[l.ID].Fields) {
				t.Errorf("new version %s of %s: version %d, or content changed", nv.ID, l.ID, nv.Version)
			}
			want, wantSub := verifier.Passed, verifier.SubIndication("")
			if l.ID == suspended.ID {
				want, wantSub = verifier.Failed, verifier.Suspended
				if nv.Status != store.StatusSuspended {
					t.Errorf("new version of the suspended licence is %s", nv.Status)
				}
			}
			rep := verifier.Verify(ctx, qrOf(t, e.svc, nv), cfg)
			if rep.Indication != want || rep.SubIndication != wantSub {
				t.Errorf("new version %s: %s/%s (%s), want %s/%s", nv.ID, rep.Indication, rep.SubIndication, rep.Reason, want, wantSub)
			}
			if rep.Issuer == nil || rep.Issuer.KeyID != nk.ID {
				t.Errorf("new version %s verified under key %+v, want %s", nv.ID, rep.Issuer, nk.ID)
			}
			if rep := verifier.Verify(ctx, l.QRText, cfg); rep.Indication == verifier.Passed {
				t.Errorf("old version %s still PASSED", l.ID)
			}
		}
		if len(successors[expired.ID]) != 0 {
			t.Errorf("expired licence was re-issued")
		}
		if len(newIDs) != eligible {
			t.Errorf("%d licences re-issued, want %d", len(newIDs), eligible)
		}
		if after := allLicences(t, st, issuertest.Other); len(after) != len(otherBefore) {
			t.Errorf("the other department's licences changed: %d, want %d", len(after), len(otherBefore))
		}

		// The wallet shows the new versions, not the superseded ones, and
		// presents them.
		session := e.walletSession(t, "91350100MA2Y00001H")
		r = e.req("GET", "/v1/wallet/licences", session, nil)
		var wl struct {
			Licences []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"licences"`
		}
		r.json(t, &wl)
		shown := map[string]bool{}
		for _, l := range wl.Licences {
			shown[l.ID] = true
			if s := byID[l.ID]; s.StatusReason == store.ReasonSuperseded {
				t.Errorf("wallet shows the superseded version %s", l.ID)
			}
		}
		for _, id := range newIDs {
			if byID[id].HolderCode == "91350100MA2Y00001H" && !shown[id] {
				t.Errorf("wallet does not show the new version %s", id)
			}
		}
		if r := e.req("POST", "/v1/wallet/licences/"+url.PathEscape(successors[issued[0].ID][0].ID)+"/presentations", session, nil); r.status != http.StatusCreated {
			t.Errorf("wallet presentation of the new version: %d %s", r.status, r.body)
		}
		// The audit log names the old key, and the suspension the new
		// version of the suspended licence carries (for the event stream).
		found := false
		for _, a := range takeSnapshot(t, st).audit {
			if a.Action == issuer.ActionReissue && a.Subject == suspended.ID {
				found = true
				if !strings.Contains(string(a.Detail), `"new_status":"suspended"`) || !strings.Contains(string(a.Detail), `"old_key":"`+old.ID+`"`) ||
					a.Actor != issuertest.TokenOperator {
					t.Errorf("audit of the suspended licence's re-issue: %s by %s", a.Detail, a.Actor)
				}
			}
		}
		if !found {
			t.Errorf("no audit entry for the re-issue of %s", suspended.ID)
		}
		if bad, err := st.VerifyChain(ctx); bad != 0 || err != nil {
			t.Errorf("audit chain: %d, %v", bad, err)
		}
	})
}

// TestReissueKeyRefusals checks the remedy route's refusals.
func TestReissueKeyRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		op := e.tokens[issuertest.TokenOperator]
		k, err := st.ActiveSigningKey(context.Background(), issuertest.Other)
		if err != nil {
			t.Fatal(err)
		}
		url := func(dept, id string) string { return "/v1/admin/departments/" + dept + "/keys/" + id + "/reissue" }
		for _, c := range []struct {
			name, path, token string
			body              any
			status            int
		}{
			{"unknown key", url(issuertest.Other, "00000000000000ff"), op, nil, 404},
			{"malformed key", url(issuertest.Other, "xyz"), op, nil, 404},
			{"unknown department", url("ZZ999", k.ID), op, nil, 404},
			{"key of another department", url(issuertest.Dept, k.ID), op, nil, 404},
			{"active key", url(issuertest.Other, k.ID), op, nil, 409},
			{"batch too large", url(issuertest.Other, k.ID), op, `{"batch_size": 5000}`, 422},
			{"unknown field", url(issuertest.Other, k.ID), op, `{"batch": 5}`, 422},
			{"no token", url(issuertest.Other, k.ID), "", nil, 401},
			{"department token", url(issuertest.Other, k.ID), e.tokens[issuertest.TokenOther], nil, 403},
		} {
			before := takeSnapshot(t, st)
			r := e.req("POST", c.path, c.token, c.body)
			if r.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				continue
			}
			if p := r.problem(t); p.Detail == "" && len(p.Errors) == 0 {
				t.Errorf("%s: problem without detail: %s", c.name, r.body)
			}
			if after := takeSnapshot(t, st); len(after.audit) != len(before.audit) || len(after.licences) != len(before.licences) {
				t.Errorf("%s: refused but changed the store", c.name)
			}
		}
		// No active key: 503 with a clear problem.
		if r := e.req("POST", "/v1/admin/departments/"+issuertest.Other+"/keys/"+k.ID+"/state", op, `{"state":"retired"}`); r.status != 200 {
			t.Fatalf("retire: %d %s", r.status, r.body)
		}
		r := e.req("POST", url(issuertest.Other, k.ID), op, nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.problem(t).Detail, "no active signing key") {
			t.Errorf("re-issue without an active key: %d %s, want 503", r.status, r.body)
		}
	})
}

// qrOf returns the QR text of a stored licence.
func qrOf(t testing.TB, svc *issuer.Service, l store.Licence) string {
	t.Helper()
	return svc.CredentialQRText(l.Credential)
}
