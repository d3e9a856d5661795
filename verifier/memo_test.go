package verifier

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"elicence/format"
	"elicence/keys"
	"elicence/verifier/verifiertest"
)

// memoTestKey returns a trustedKey for a new key pair and its private key.
func memoTestKey(t *testing.T) (*trustedKey, func(msg []byte) []byte) {
	t.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	za, err := sm2.CalculateZA(&k.PublicKey, []byte(keys.DefaultUID))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(msg []byte) []byte {
		sig, err := keys.Sign(k, msg)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	return &trustedKey{pub: &k.PublicKey, za: za}, sign
}

// TestMemoNeverPassesFailingSignature: once a signature is remembered, a
// flipped signature, other bytes with the same signature, and the same
// bytes and signature under another key (even one given the first key's
// ZA, so that the SM2 digest is the same) still fail, and a failure is
// never remembered.
func TestMemoNeverPassesFailingSignature(t *testing.T) {
	m := NewSignatureMemo(16)
	k, sign := memoTestKey(t)
	msg := []byte("电子证照 payload")
	sig := sign(msg)
	for i := range 3 {
		if !k.verifyMemo(m, msg, sig) {
			t.Fatalf("valid signature refused on verification %d", i+1)
		}
	}
	if s := m.Stats(); s.Entries != 1 || s.Hits != 2 || s.Misses != 1 {
		t.Fatalf("stats %+v, want 1 entry, 2 hits, 1 miss", s)
	}
	check := func(what string, k *trustedKey, msg, sig []byte) {
		t.Helper()
		before := m.Stats()
		for range 2 { // a failure is not remembered: the second time too
			if k.verifyMemo(m, msg, sig) {
				t.Fatalf("%s accepted", what)
			}
		}
		if after := m.Stats(); after.Entries != before.Entries || after.Hits != before.Hits {
			t.Fatalf("%s: memo changed from %+v to %+v", what, before, after)
		}
	}
	for i := range sig {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x01
		check(fmt.Sprintf("signature with byte %d flipped", i), k, msg, bad)
	}
	check("other payload", k, append(bytes.Clone(msg), 0), sig)
	check("shorter payload", k, msg[:len(msg)-1], sig)
	check("short signature", k, msg, sig[:63])
	other, _ := memoTestKey(t)
	check("same bytes under another key", other, msg, sig)
	sameZA := &trustedKey{pub: other.pub, za: k.za}
	check("same bytes and digest under another key", sameZA, msg, sig)
	// The first key's entry is still there and still answers.
	if !k.verifyMemo(m, msg, sig) {
		t.Fatal("remembered signature refused")
	}
}

// TestMemoBounded: the memo never holds more than its capacity, and an
// entry in use survives while others come and go.
func TestMemoBounded(t *testing.T) {
	m := NewSignatureMemo(8)
	hot := sm3.Sum([]byte("hot"))
	m.add(hot)
	for i := range 1000 {
		m.add(sm3.Sum([]byte{byte(i), byte(i >> 8)}))
		if !m.seen(hot) {
			t.Fatalf("entry in use evicted after %d others", i+1)
		}
		if s := m.Stats(); s.Entries > 8 || s.Capacity != 8 {
			t.Fatalf("after %d adds: %+v, want at most 8 entries", i+1, s)
		}
	}
	if m.seen(sm3.Sum([]byte{0, 0})) {
		t.Fatal("an entry added long ago and never used is still held")
	}
	var none *SignatureMemo
	k, sign := memoTestKey(t)
	if !k.verifyMemo(none, []byte("x"), sign([]byte("x"))) || none.Stats() != (MemoStats{}) {
		t.Fatal("nil memo")
	}
}

// revokedRepeats is how often the revoked licence is verified in
// TestMemoNeverSkipsStatus: a million (issue 14), 20,000 under the race
// detector, which slows each verification many times over. make test
// runs the test once more without it, so the million runs there too.
func revokedRepeats() int {
	switch {
	case raceEnabled:
		return 20_000
	case testing.Short():
		return 50_000
	}
	return 1_000_000
}

// TestMemoNeverSkipsStatus: a licence whose signature the memo holds is
// REVOKED on every one of many verifications once it is revoked, and
// KEY_COMPROMISED once its key is marked compromised; each of those
// verifications was answered by the memo, so the memo skipped only the
// SM2 arithmetic.
func TestMemoNeverSkipsStatus(t *testing.T) {
	e := newEnv(t, func(i *verifiertest.Issuer) { i.MaxAge = i.TTL })
	e.cfg.Memo = NewSignatureMemo(64)
	text := e.qr(t, 7)
	want(t, e.verify(text), Passed, "")
	want(t, e.verify(text), Passed, "")
	if s := e.cfg.Memo.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Fatalf("memo %+v, want 1 hit and 1 miss", s)
	}

	e.iss.SetStatus(e.d, "L1", 7, format.StatusRevoked)
	e.clock.Advance(5 * time.Minute)
	eventually(t, 5*time.Second, "revocation seen by polling", func() bool {
		return e.verify(text).SubIndication == Revoked
	})
	before := e.cfg.Memo.Stats()
	n := revokedRepeats()
	for i := range n {
		if r := e.verify(text); r.Indication != Failed || r.SubIndication != Revoked {
			t.Fatalf("verification %d of the revoked licence: %s/%s (%s)", i+1, r.Indication, r.SubIndication, r.Reason)
		}
	}
	if s := e.cfg.Memo.Stats(); s.Hits-before.Hits != uint64(n) || s.Misses != before.Misses {
		t.Fatalf("memo %+v after %d verifications (before %+v): want every one a hit", s, n, before)
	}

	// The key is marked compromised after its signature was remembered.
	e.d.SetKeyState(format.KeyCompromised, t0.Add(-2*time.Hour))
	e.w.NewKey(t, e.d)
	e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
	eventually(t, 5*time.Second, "sequence 2 fetched", func() bool {
		tr, err := e.cache.refreshTrust(context.Background())
		return err == nil && tr.List.Sequence == 2
	})
	before = e.cfg.Memo.Stats()
	for range 100 {
		want(t, e.verify(text), Failed, KeyCompromised)
	}
	if s := e.cfg.Memo.Stats(); s.Hits-before.Hits != 100 {
		t.Fatalf("memo %+v, want 100 more hits than %+v", s, before)
	}
}

// TestMemoFlippedSignatureOverVerify: over the whole verification, once a
// credential is remembered, the same payload with any signature byte
// changed is SIG_CRYPTO_FAILURE, and a presentation's outer signature is
// checked on its own.
func TestMemoFlippedSignatureOverVerify(t *testing.T) {
	e := newEnv(t)
	e.cfg.Memo = NewSignatureMemo(64)
	cred := e.w.Sign(t, e.d, e.w.Credential(e.d, verifiertest.Serial(3), "L1", 3, t0.Add(-time.Hour)))
	text := format.QRText(format.KindCredential, cred)
	want(t, e.verify(text), Passed, "")
	for i := range cred.Signature {
		bad := cred
		bad.Signature = bytes.Clone(cred.Signature)
		bad.Signature[i] ^= 0x80
		want(t, e.verify(format.QRText(format.KindCredential, bad)), Failed, SigCryptoFailure)
	}
	want(t, e.verify(text), Passed, "")

	pres := e.w.PresentationQR(t, e.d, cred, t0.Add(-10*time.Second), time.Minute)
	want(t, e.verify(pres), Passed, "")
	_, raw, err := format.ParseQRText(pres)
	if err != nil {
		t.Fatal(err)
	}
	outer, _, err := format.ParsePresentation(raw)
	if err != nil {
		t.Fatal(err)
	}
	outer.Signature = bytes.Clone(outer.Signature)
	outer.Signature[10] ^= 0x01
	// The credential inside is remembered; the presentation's changed
	// signature is not.
	r := e.verify(format.QRText(format.KindPresentation, outer))
	want(t, r, Failed, SigCryptoFailure)
	if r.Reason != "presentation signature does not verify" {
		t.Fatalf("reason %q, want the presentation's signature named", r.Reason)
	}
}
