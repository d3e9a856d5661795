package verifier

import (
	"bytes"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"elicence/keys"
)

// derSignature writes the same DER as keys.DERSignature, including the
// edge cases: leading zero bytes dropped, a zero byte added before a high bit.
func TestDERSignatureMatchesKeys(t *testing.T) {
	cases := [][]byte{make([]byte, 64), bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{0x7f}, 64)}
	odd := make([]byte, 64)
	odd[31], odd[32], odd[33] = 0x80, 0x00, 0x01
	cases = append(cases, odd)
	k, _ := keys.Generate(nil)
	for range 50 {
		sig, err := keys.Sign(k, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, sig)
	}
	for _, raw := range cases {
		want, err := keys.DERSignature(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := derSignature(nil, raw); !bytes.Equal(got, want) {
			t.Fatalf("derSignature(%x) = %x, want %x", raw, got, want)
		}
	}
}

// trustedKey.verify, with its precomputed ZA, agrees with keys.Verify.
func TestTrustedKeyVerifyMatchesKeys(t *testing.T) {
	k, _ := keys.Generate(nil)
	za, err := sm2.CalculateZA(&k.PublicKey, []byte(keys.DefaultUID))
	if err != nil {
		t.Fatal(err)
	}
	tk := &trustedKey{pub: &k.PublicKey, za: za}
	msg := []byte("电子证照 payload")
	sig, err := keys.Sign(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.verify(msg, sig) || !keys.Verify(&k.PublicKey, msg, sig) {
		t.Fatal("valid signature refused")
	}
	for i := range sig {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x04
		if tk.verify(msg, bad) != keys.Verify(&k.PublicKey, msg, bad) || tk.verify(msg, bad) {
			t.Fatalf("signature with byte %d changed accepted", i)
		}
	}
	if tk.verify(append(msg, 0), sig) || tk.verify(msg, sig[:63]) {
		t.Fatal("other message or short signature accepted")
	}
	other, _ := keys.Generate(nil)
	otherZA, _ := sm2.CalculateZA(&other.PublicKey, []byte(keys.DefaultUID))
	if (&trustedKey{pub: &other.PublicKey, za: otherZA}).verify(msg, sig) {
		t.Fatal("signature accepted under another key")
	}
}
