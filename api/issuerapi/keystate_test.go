package issuerapi

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/keys"
	"elicence/verifier"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// trustKey fetches the served trust list, verifies it under the root and
// returns it with the entry of key id of dept.
func (e *env) trustKey(t *testing.T, now time.Time, dept, id string) (*verifier.Trust, format.TrustedKey) {
	t.Helper()
	r := e.req("GET", "/v1/trust-list", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("trust list: %d %s", r.status, r.body)
	}
	trust, err := verifier.NewTrust(&e.f.Root.Key.PublicKey, r.body, now)
	if err != nil {
		t.Fatalf("trust list: %v", err)
	}
	kid, err := keys.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range trust.List.Departments {
		for _, k := range d.Keys {
			if d.Code == dept && bytes.Equal(k.ID, kid[:]) {
				return trust, k
			}
		}
	}
	t.Fatalf("trust list has no key %s/%s", dept, id)
	return nil, format.TrustedKey{}
}

// TestKeyCompromised marks the department's active key compromised since
// T through the operator route and proves what the running issuer serves
// afterwards: a trust list with a higher sequence naming the key
// compromised since T, under which every credential the key signed is
// KEY_COMPROMISED, before T as after (a signer's claimed time proves
// nothing, docs/FORMAT.md §10); no
// issuance and no status list (503) while the department has no active
// key, and status lists signed by the new key once one is added.
func TestKeyCompromised(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		base := time.Now().Truncate(time.Second)
		clock := &testClock{t: base}
		e := newEnv(t, st, issuer.Config{Now: clock.now}, Config{})
		tok, op := e.tokens[issuertest.TokenIssuer], e.tokens[issuertest.TokenOperator]
		old, err := st.ActiveSigningKey(ctx, issuertest.Dept)
		if err != nil {
			t.Fatal(err)
		}
		stateURL := "/v1/admin/departments/" + issuertest.Dept + "/keys/" + old.ID + "/state"

		before := e.issue(refBusiness) // signed at base
		clock.set(base.Add(20 * time.Second))
		after := e.issue(refBusiness) // signed at base+20s
		// Warm the status-list cache with a list the old key signs.
		if r := e.req("GET", "/v1/status/"+before.StatusList, "", nil); r.status != http.StatusOK {
			t.Fatalf("status list: %d %s", r.status, r.body)
		}
		trust0, k0 := e.trustKey(t, clock.now(), issuertest.Dept, old.ID)
		if k0.State != format.KeyActive {
			t.Fatalf("key is %s before the change, want active", k0.State)
		}

		clock.set(base.Add(30 * time.Second))
		since := base.Add(10 * time.Second)
		r := e.req("POST", stateURL, op, map[string]string{"state": "compromised", "since": since.Format(time.RFC3339)})
		var kj map[string]any
		r.json(t, &kj)
		if r.status != http.StatusOK || kj["id"] != old.ID || kj["state"] != "compromised" || kj["compromised_since"] != since.UTC().Format(time.RFC3339) {
			t.Fatalf("compromise: %d %s", r.status, r.body)
		}
		for _, secret := range []string{"private_key", "private_key_pem", "PRIVATE"} {
			if bytes.Contains(r.body, []byte(secret)) {
				t.Errorf("answer shows %s: %s", secret, r.body)
			}
		}

		trust, k := e.trustKey(t, clock.now(), issuertest.Dept, old.ID)
		if k.State != format.KeyCompromised || k.Since != since.Unix() {
			t.Errorf("trust list: key %s since %d, want compromised since %d", k.State, k.Since, since.Unix())
		}
		if trust.List.Sequence <= trust0.List.Sequence {
			t.Errorf("trust list sequence %d, want more than %d", trust.List.Sequence, trust0.List.Sequence)
		}

		// No active key: issuing and signing status lists are unavailable,
		// and the list the compromised key signed is no longer served.
		if r := e.req("POST", "/v1/licences", tok, refBusiness); r.status != http.StatusServiceUnavailable || r.problem(t).Detail == "" {
			t.Errorf("issue without an active key: %d %s, want 503 with a detail", r.status, r.body)
		}
		if r := e.req("GET", "/v1/status/"+before.StatusList, "", nil); r.status != http.StatusServiceUnavailable {
			t.Errorf("status list without an active key: %d, want 503", r.status)
		}

		r = e.req("POST", "/v1/admin/departments/"+issuertest.Dept+"/keys", op, nil)
		var nk keyJSON
		r.json(t, &nk)
		if r.status != http.StatusCreated || nk.State != "active" {
			t.Fatalf("new key: %d %s", r.status, r.body)
		}
		fresh := e.issue(refBusiness)

		cfg := e.verifyConfig()
		cfg.Now = clock.now
		for _, c := range []struct {
			name string
			l    licenceJSON
			ind  verifier.Indication
			sub  verifier.SubIndication
		}{
			{"signed before T", before, verifier.Failed, verifier.KeyCompromised},
			{"signed after T", after, verifier.Failed, verifier.KeyCompromised},
			{"signed by the new key", fresh, verifier.Passed, ""},
		} {
			rep := verifier.Verify(ctx, c.l.QRText, cfg)
			if rep.Indication != c.ind || rep.SubIndication != c.sub {
				t.Errorf("%s: %s/%s (%s), want %s/%s", c.name, rep.Indication, rep.SubIndication, rep.Reason, c.ind, c.sub)
			}
		}
		r = e.req("GET", "/v1/status/"+before.StatusList, "", nil)
		trust, _ = e.trustKey(t, clock.now(), issuertest.Dept, nk.ID)
		sl, err := verifier.NewStatus(trust, r.body, clock.now(), "http")
		if err != nil {
			t.Fatalf("status list after the new key: %v", err)
		}
		if got := keys.IDOfDER(mustKey(t, st, nk.ID).PublicKey); !bytes.Equal(sl.List.KeyID, got[:]) {
			t.Errorf("status list signed by key %x, want the new key %s", sl.List.KeyID, nk.ID)
		}
	})
}

func mustKey(t *testing.T, st store.Store, id string) store.SigningKey {
	t.Helper()
	k, err := st.SigningKey(context.Background(), issuertest.Dept, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyStateBadRequests checks the key-state route's refusals, and that
// a refusal changes nothing.
func TestKeyStateBadRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		op := e.tokens[issuertest.TokenOperator]
		k, err := st.ActiveSigningKey(context.Background(), issuertest.Other)
		if err != nil {
			t.Fatal(err)
		}
		url := func(dept, id string) string { return "/v1/admin/departments/" + dept + "/keys/" + id + "/state" }
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		for _, c := range []struct {
			name, path, token string
			body              any
			status            int
			field             string
		}{
			{"unknown key", url(issuertest.Other, "00000000000000ff"), op, `{"state":"retired"}`, 404, ""},
			{"unknown department", url("ZZ999", k.ID), op, `{"state":"retired"}`, 404, ""},
			{"key of another department", url(issuertest.Dept, k.ID), op, `{"state":"retired"}`, 404, ""},
			{"bad state", url(issuertest.Other, k.ID), op, `{"state":"lost"}`, 422, "state"},
			{"active", url(issuertest.Other, k.ID), op, `{"state":"active"}`, 422, "state"},
			{"no state", url(issuertest.Other, k.ID), op, `{}`, 422, "state"},
			{"compromised without since", url(issuertest.Other, k.ID), op, `{"state":"compromised"}`, 422, "since"},
			{"since not RFC 3339", url(issuertest.Other, k.ID), op, `{"state":"compromised","since":"2024-06-01"}`, 422, "since"},
			{"since in the future", url(issuertest.Other, k.ID), op, `{"state":"compromised","since":"` + future + `"}`, 422, "since"},
			{"retired with since", url(issuertest.Other, k.ID), op, `{"state":"retired","since":"` + past + `"}`, 422, "since"},
			{"unknown field", url(issuertest.Other, k.ID), op, `{"state":"retired","why":"x"}`, 422, "why"},
			{"department token", url(issuertest.Other, k.ID), e.tokens[issuertest.TokenOther], `{"state":"retired"}`, 403, ""},
		} {
			before := takeSnapshot(t, st)
			r := e.req("POST", c.path, c.token, c.body)
			if r.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				continue
			}
			p := r.problem(t)
			if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field) {
				t.Errorf("%s: fields %+v, want %s", c.name, p.Errors, c.field)
			}
			if after := takeSnapshot(t, st); len(after.audit) != len(before.audit) {
				t.Errorf("%s: refused but appended to the audit log", c.name)
			}
		}

		// Compromise is final.
		if r := e.req("POST", url(issuertest.Other, k.ID), op, `{"state":"compromised","since":"`+past+`"}`); r.status != 200 {
			t.Fatalf("compromise: %d %s", r.status, r.body)
		}
		for _, c := range []struct{ state, body string }{
			{"retired", `{"state":"retired"}`},
			{"compromised", `{"state":"compromised","since":"` + past + `"}`},
		} {
			r := e.req("POST", url(issuertest.Other, k.ID), op, c.body)
			if r.status != http.StatusConflict {
				t.Errorf("compromised key to %s: %d %s, want 409", c.state, r.status, r.body)
				continue
			}
			if p, want := r.problem(t), "key "+k.ID+" is compromised and cannot become "+c.state; p.Detail != want {
				t.Errorf("409 detail %q, want %q", p.Detail, want)
			}
		}
	})
}

// TestRetiredKeyWithoutSuccessorIsStable retires a department's only key
// and checks that the trust list names the retirement time the store
// recorded, and keeps it and its sequence across rebuilds, instead of
// re-signing with a new time at every check.
func TestRetiredKeyWithoutSuccessorIsStable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		base := time.Now().Truncate(time.Second)
		clock := &testClock{t: base}
		e := newEnv(t, st, issuer.Config{Now: clock.now}, Config{})
		op := e.tokens[issuertest.TokenOperator]
		old, err := st.ActiveSigningKey(ctx, issuertest.Dept)
		if err != nil {
			t.Fatal(err)
		}
		clock.set(base.Add(10 * time.Second))
		r := e.req("POST", "/v1/admin/departments/"+issuertest.Dept+"/keys/"+old.ID+"/state", op, map[string]string{"state": "retired"})
		if r.status != http.StatusOK {
			t.Fatalf("retire: %d %s", r.status, r.body)
		}
		trust1, k1 := e.trustKey(t, clock.now(), issuertest.Dept, old.ID)
		// The store records the retirement time, by its own clock, in the
		// transaction that retires the key.
		retired := mustKey(t, st, old.ID)
		if retired.RetiredAt.IsZero() || k1.State != format.KeyRetired || k1.Since != retired.RetiredAt.Unix() {
			t.Fatalf("key %s since %d, want retired since %d (the stored retirement time)", k1.State, k1.Since, retired.RetiredAt.Unix())
		}
		for _, later := range []time.Duration{time.Minute, time.Hour} {
			clock.set(base.Add(10*time.Second + later))
			trust2, k2 := e.trustKey(t, clock.now(), issuertest.Dept, old.ID)
			if k2.Since != k1.Since || trust2.List.Sequence != trust1.List.Sequence {
				t.Errorf("%s later: key since %d, sequence %d; want since %d, sequence %d (unchanged)",
					later, k2.Since, trust2.List.Sequence, k1.Since, trust1.List.Sequence)
			}
		}
	})
}
