package keys

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"elicence/internal/testenv"
)

// TestSM2KeyMatchesGMSM holds the precomputed-ZA path to gmsm's own:
// the digest is gmsm's e = SM3(ZA ‖ M) for the default ID, and each
// signature verifies with gmsm's message verification (which computes ZA
// itself) and with Verify, and fails when the message, the key or any
// byte of it changes.
func TestSM2KeyMatchesGMSM(t *testing.T) {
	priv, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewSM2Key(priv)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := Generate(nil)
	if _, err := Sign(k, nil); err == nil {
		t.Fatal("empty message signed; gmsm refuses it")
	}
	for _, n := range []int{1, 31, 32, 55, 56, 63, 64, 65, 400, 1000} {
		msg := make([]byte, n)
		rand.Read(msg)
		want, err := sm2.CalculateSM2Hash(&priv.PublicKey, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e := k.Digest(msg); !bytes.Equal(e[:], want) {
			t.Fatalf("%d bytes: digest %x, gmsm's %x", n, e, want)
		}
		raw, err := Sign(k, msg)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := DERSignature(raw)
		if !sm2.VerifyASN1WithSM2(&priv.PublicKey, nil, msg, der) || !Verify(&priv.PublicKey, msg, raw) {
			t.Fatalf("%d bytes: gmsm rejects the signature", n)
		}
		viaSigner, err := k.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
		if err != nil || !sm2.VerifyASN1WithSM2(&priv.PublicKey, []byte(DefaultUID), msg, viaSigner) {
			t.Fatalf("%d bytes: crypto.Signer path: %v", n, err)
		}
		if Verify(&other.PublicKey, msg, raw) || Verify(&priv.PublicKey, append(bytes.Clone(msg), 0), raw) {
			t.Fatalf("%d bytes: signature accepted for another key or message", n)
		}
		for i := range raw {
			bad := bytes.Clone(raw)
			bad[i] ^= 0x40
			if Verify(&priv.PublicKey, msg, bad) {
				t.Fatalf("%d bytes: byte %d flipped accepted", n, i)
			}
		}
		// And gmsm's own signatures of the message verify against our digest.
		theirs, err := priv.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
		if err != nil {
			t.Fatal(err)
		}
		e := k.Digest(msg)
		if !sm2.VerifyASN1(&priv.PublicKey, e[:], theirs) {
			t.Fatalf("%d bytes: gmsm's signature does not verify over our digest", n)
		}
	}
}

// TestSM2KeyNonceIsRandom: the nonce stays gmsm's hedged one (fresh
// randomness in every signature), so the same message signed twice gives
// two signatures, and a nil randomness source is refused rather than
// turned into a deterministic nonce.
func TestSM2KeyNonceIsRandom(t *testing.T) {
	priv, _ := Generate(nil)
	k, _ := NewSM2Key(priv)
	msg := []byte("same message")
	a, err1 := Sign(k, msg)
	b, err2 := Sign(k, msg)
	if err1 != nil || err2 != nil || bytes.Equal(a, b) {
		t.Fatalf("two signatures of one message: %x, %x (%v, %v)", a, b, err1, err2)
	}
	if _, err := k.Sign(nil, msg, sm2.DefaultSM2SignerOpts); err == nil {
		t.Fatal("nil randomness accepted")
	}
	if _, err := NewSM2Key(nil); err == nil {
		t.Fatal("nil key accepted")
	}
}

// TestSM2KeyOtherOptions: options other than the default go to gmsm
// unchanged (here a caller-computed digest).
func TestSM2KeyOtherOptions(t *testing.T) {
	priv, _ := Generate(nil)
	k, _ := NewSM2Key(priv)
	e := k.Digest([]byte("m"))
	der, err := k.Sign(rand.Reader, e[:], sm2.NewSM2SignerOption(false, nil))
	if err != nil || !sm2.VerifyASN1WithSM2(&priv.PublicKey, nil, []byte("m"), der) {
		t.Fatalf("digest signing through options: %v", err)
	}
}

// TestRawFromDER: the allocation-free conversion agrees with RawSignature
// on gmsm's signatures and on short integers, and refuses what
// RawSignature refuses.
func TestRawFromDER(t *testing.T) {
	priv, _ := Generate(nil)
	for range 200 {
		der, err := priv.Sign(rand.Reader, []byte("x"), sm2.DefaultSM2SignerOpts)
		if err != nil {
			t.Fatal(err)
		}
		a, err1 := RawSignature(der)
		b, err2 := rawFromDER(der)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%x: %x (%v) against %x (%v)", der, b, err2, a, err1)
		}
	}
	short := make([]byte, 64)
	short[31], short[63] = 7, 9
	for _, raw := range [][]byte{short, bytes.Repeat([]byte{0xff}, 64)} {
		der, _ := DERSignature(raw)
		if got, err := rawFromDER(der); err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("%x: %x, %v", raw, got, err)
		}
	}
	good, _ := DERSignature(bytes.Repeat([]byte{1}, 64))
	for _, bad := range [][]byte{
		append(bytes.Clone(good), 0),
		{0x30, 6, 2, 1, 0x80, 2, 1, 1}, // negative r
		{0x30, 5, 2, 0, 2, 1, 1},       // empty r
		append([]byte{0x30, 38, 2, 34, 0}, append(bytes.Repeat([]byte{1}, 33), 2, 1, 1)...), // r of 33 bytes
		{},
	} {
		if _, err := rawFromDER(bad); err == nil {
			t.Fatalf("%x accepted", bad)
		}
	}
}

// TestOpenSSLJudgesSM2Key has OpenSSL verify a signature made with the
// precomputed ZA, as TestOpenSSLJudges does for gmsm's own path.
func TestOpenSSLJudgesSM2Key(t *testing.T) {
	openssl := testenv.RequireTool(t, "openssl", "openssl")
	priv, _ := Generate(nil)
	k, _ := NewSM2Key(priv)
	work := t.TempDir()
	pub, _ := MarshalPublicKeyPEM(&priv.PublicKey)
	os.WriteFile(filepath.Join(work, "pub"), pub, 0o644)
	msg := []byte("licence bytes 电子证照 \x00\x01\x02")
	os.WriteFile(filepath.Join(work, "msg"), msg, 0o644)
	verify := func(raw []byte) (string, error) {
		der, _ := DERSignature(raw)
		os.WriteFile(filepath.Join(work, "sig"), der, 0o644)
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(work, "pub"), "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:"+DefaultUID, "-in", filepath.Join(work, "msg"), "-sigfile", filepath.Join(work, "sig")).CombinedOutput()
		return string(out), err
	}
	raw, err := Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verify(raw); err != nil {
		t.Fatalf("openssl rejected the precomputed-ZA signature: %v\n%s", err, out)
	}
	raw[40] ^= 1
	if out, err := verify(raw); err == nil {
		t.Fatalf("openssl accepted a tampered signature:\n%s", out)
	}
}
