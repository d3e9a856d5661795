package main

import (
	"crypto/rand"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"elicence/keys"
)

// The floors every other figure is held against: gmsm's SM2 signing and
// verification of a precomputed digest e = SM3(ZA ‖ message), the SM2
// arithmetic and nothing else, and SM3 hashing. Run with -cpu 1,N: the
// SM2 benchmarks run on as many goroutines as GOMAXPROCS, so -cpu 1 is one
// core and -cpu N all of them.

// rawKey returns a key pair, a digest and a DER signature of it.
func rawKey(b *testing.B) (*sm2.PrivateKey, []byte, []byte) {
	k, err := keys.Generate(nil)
	if err != nil {
		b.Fatal(err)
	}
	za, err := sm2.CalculateZA(&k.PublicKey, []byte(keys.DefaultUID))
	if err != nil {
		b.Fatal(err)
	}
	h := sm3.New()
	h.Write(za)
	h.Write(make([]byte, 400)) // a credential's size
	e := h.Sum(nil)
	der, err := sm2.SignASN1(rand.Reader, k, e, nil)
	if err != nil {
		b.Fatal(err)
	}
	return k, e, der
}

func BenchmarkSM2SignRaw(b *testing.B) {
	k, e, _ := rawKey(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sm2.SignASN1(rand.Reader, k, e, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSM2VerifyRaw(b *testing.B) {
	k, e, der := rawKey(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !sm2.VerifyASN1(&k.PublicKey, e, der) {
				b.Error("signature does not verify")
				return
			}
		}
	})
}

func BenchmarkSM3(b *testing.B) {
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	var sum [sm3.Size]byte
	for b.Loop() {
		sum = sm3.Sum(buf)
	}
	_ = sum
}
