package issuer_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/keys"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var driving = issuer.Request{
	Type: issuer.TypeDrivingLicence, HolderName: "李四", HolderID: "350102199003071234", ValidFrom: "2024-01-15",
	Fields: map[string]string{"cc": "C1", "fi": "2012-01-15"},
}

// credKey returns the key ID a stored credential names, in hex: the full
// ID of a version-1 credential, the short one of a compact credential.
func credKey(t *testing.T, l store.Licence) string {
	t.Helper()
	_, c, cc, err := format.ParseAnyCredential(l.Credential)
	if err != nil {
		t.Fatal(err)
	}
	if cc != nil {
		return hex.EncodeToString(cc.ShortKeyID)
	}
	var id keys.ID
	copy(id[:], c.KeyID)
	return id.String()
}

func listKey(t *testing.T, pub *issuer.Published) string {
	t.Helper()
	_, sl, err := format.ParseStatusList(pub.Body)
	if err != nil {
		t.Fatal(err)
	}
	var id keys.ID
	copy(id[:], sl.KeyID)
	return id.String()
}

// TestRetiredKeySignsNothing runs two issuer services on one store, as two
// processes behind a load balancer would. Service A has the department's
// key cached and decrypted when service B rotates it (and later marks the
// new key compromised). Whatever A signs afterwards is signed by the key
// active in the store, or refused: a licence is signed by the new key, a
// status list whose entries changed is signed by the new key, a
// presentation or annotated copy of a licence of the old key is refused
// with a problem telling the department to re-issue, and with no active
// key A issues nothing and publishes no status list (ErrUnavailable).
func TestRetiredKeySignsNothing(t *testing.T) {
	for _, b := range issuertest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			f := issuertest.New(t, b.Open(t), issuer.Config{Now: c.now})
			a := f.Service
			bsvc, err := issuer.New(f.Config)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bsvc.Close() })
			op := issuer.Operator()
			pa, err := a.Admin.Authenticate(ctx, f.Tokens[issuertest.TokenIssuer])
			if err != nil {
				t.Fatal(err)
			}
			pb, err := bsvc.Admin.Authenticate(ctx, f.Tokens[issuertest.TokenIssuer])
			if err != nil {
				t.Fatal(err)
			}
			k1, err := f.Store.ActiveSigningKey(ctx, issuertest.Dept)
			if err != nil {
				t.Fatal(err)
			}
			l1, _, err := a.Licences.Issue(ctx, pa, driving, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Wallet.Present(ctx, pa, l1.ID); err != nil {
				t.Fatalf("presentation under the active key: %v", err)
			}
			if pub, err := a.Publication.StatusList(ctx, l1.StatusListID); err != nil || listKey(t, pub) != k1.ID {
				t.Fatalf("status list before the rotation: %v", err)
			}

			k2, err := bsvc.Admin.NewDepartmentKey(ctx, op, issuertest.Dept)
			if err != nil {
				t.Fatal(err)
			}
			// A's cache still names k1 active; the store refuses it.
			l2, _, err := a.Licences.Issue(ctx, pa, driving, "")
			if err != nil {
				t.Fatalf("issue after the rotation elsewhere: %v", err)
			}
			if got := credKey(t, l2); !strings.HasPrefix(k2.ID, got) {
				t.Errorf("licence issued after the rotation is signed by %s, want the new key %s", got, k2.ID)
			}
			// A status list that changed is signed by the new key.
			if _, err := bsvc.Licences.ChangeStatus(ctx, pb, l1.ID, store.StatusSuspended, "investigation"); err != nil {
				t.Fatal(err)
			}
			pub, err := a.Publication.StatusList(ctx, l1.StatusListID)
			if err != nil {
				t.Fatal(err)
			}
			if got := listKey(t, pub); got != k2.ID {
				t.Errorf("status list signed by %s after the rotation, want %s", got, k2.ID)
			}
			if _, err := bsvc.Licences.ChangeStatus(ctx, pb, l1.ID, store.StatusValid, ""); err != nil {
				t.Fatal(err)
			}
			// No presentation or annotated copy of a licence of the old key.
			var prob *issuer.Problem
			_, err = a.Wallet.Present(ctx, pa, l1.ID)
			if !errors.As(err, &prob) || !errors.Is(err, issuer.ErrNotUsable) || !bytes.Contains([]byte(prob.Detail), []byte("re-issue")) {
				t.Errorf("presentation of a licence of the retired key: %v, want a problem telling to re-issue", err)
			}
			_, err = a.Wallet.Annotate(ctx, pa, l1.ID, issuer.AnnotationRequest{RelyingDepartment: issuertest.Other, Purpose: "test", ExpiresInDays: 1})
			if !errors.Is(err, issuer.ErrNotUsable) {
				t.Errorf("annotated copy of a licence of the retired key: %v, want ErrNotUsable", err)
			}

			// The new key is compromised elsewhere and none replaces it.
			if _, err := bsvc.Admin.SetKeyState(ctx, op, issuertest.Dept, k2.ID, store.KeyCompromised, c.now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			_, _, err = a.Licences.Issue(ctx, pa, driving, "")
			if !errors.Is(err, issuer.ErrUnavailable) {
				t.Errorf("issue with no active key: %v, want ErrUnavailable", err)
			}
			if _, err := a.Wallet.Present(ctx, pa, l2.ID); !errors.Is(err, issuer.ErrNotUsable) {
				t.Errorf("presentation of a licence of the compromised key: %v, want ErrNotUsable", err)
			}
			c.add(2 * time.Second) // past the status lists' key recheck
			if _, err := a.Publication.StatusList(ctx, l1.StatusListID); !errors.Is(err, issuer.ErrUnavailable) {
				t.Errorf("status list with no active key: %v, want ErrUnavailable", err)
			}
			// What the store holds of the two keys: no private half.
			for _, id := range []string{k1.ID, k2.ID} {
				k, err := f.Store.SigningKey(ctx, issuertest.Dept, id)
				if err != nil || len(k.PrivateKeyPEM) != 0 || k.RetiredAt.IsZero() {
					t.Errorf("key %s: %d bytes of private key, retired at %v (%v); want none and a time", id, len(k.PrivateKeyPEM), k.RetiredAt, err)
				}
			}
		})
	}
}

// TestReissueKeyConcurrent runs the remedy from two services on one store
// at the same time, as two operators (or a retry while the first run is
// still going) would: every still-valid licence of the old key ends with
// exactly one new version, and the two runs' counts add up to the
// licences re-issued.
func TestReissueKeyConcurrent(t *testing.T) {
	for _, b := range issuertest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := issuertest.New(t, b.Open(t), issuer.Config{})
			other, err := issuer.New(f.Config)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			p, err := f.Service.Admin.Authenticate(ctx, f.Tokens[issuertest.TokenIssuer])
			if err != nil {
				t.Fatal(err)
			}
			const n = 60
			in := bytes.Repeat([]byte(`{"type":"`+issuer.TypeDrivingLicence+`","holder_name":"李四","holder_id":"350102199003071234","valid_from":"2024-01-15","fields":{"cc":"C1","fi":"2012-01-15"}}`+"\n"), n)
			sum, err := f.Service.Licences.IssueBulk(ctx, p, bytes.NewReader(in), issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: 7}, func(issuer.BulkRow) error { return nil })
			if err != nil || sum.Issued != n {
				t.Fatalf("bulk: %+v, %v", sum, err)
			}
			old, err := f.Store.ActiveSigningKey(ctx, issuertest.Dept)
			if err != nil {
				t.Fatal(err)
			}
			nk, err := f.Service.Admin.NewDepartmentKey(ctx, issuer.Operator(), issuertest.Dept)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			res := make([]issuer.ReissueKeySummary, 2)
			errs := make([]error, 2)
			for i, svc := range []*issuer.Service{f.Service, other} {
				wg.Go(func() {
					res[i], errs[i] = svc.Licences.ReissueKey(ctx, issuer.Operator(), issuertest.Dept, old.ID, issuer.ReissueKeyOptions{BatchSize: 4, Workers: 2})
				})
			}
			wg.Wait()
			for i := range 2 {
				if errs[i] != nil {
					t.Fatalf("run %d: %v", i, errs[i])
				}
			}
			if got := res[0].Reissued + res[1].Reissued; got != n {
				t.Errorf("the runs re-issued %d and %d licences, %d in all; want %d", res[0].Reissued, res[1].Reissued, got, n)
			}
			successors := map[string]int{}
			versions := 0
			q := store.LicenceQuery{DepartmentCode: issuertest.Dept, Limit: store.MaxPageSize}
			for {
				page, next, err := f.Store.ListLicences(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range page {
					if l.Supersedes != "" {
						successors[l.Supersedes]++
						versions++
						if !strings.HasPrefix(nk.ID, credKey(t, l)) {
							t.Errorf("new version %s signed by %s, want %s", l.ID, credKey(t, l), nk.ID)
						}
					} else if l.Status != store.StatusRevoked || l.StatusReason != store.ReasonSuperseded {
						t.Errorf("original %s is %s (%s), want superseded", l.ID, l.Status, l.StatusReason)
					}
				}
				if next == "" {
					break
				}
				q.Cursor = next
			}
			for id, c := range successors {
				if c != 1 {
					t.Errorf("licence %s has %d new versions, want 1", id, c)
				}
			}
			if len(successors) != n || versions != n {
				t.Errorf("%d licences have new versions (%d versions), want %d", len(successors), versions, n)
			}
			if bad, err := f.Store.VerifyChain(ctx); bad != 0 || err != nil {
				t.Errorf("audit chain: %d, %v", bad, err)
			}
		})
	}
}
