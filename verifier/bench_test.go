package verifier_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"elicence/format"
	"elicence/internal/vectors"
	"elicence/keys"
	"elicence/verifier"
)

// benchVector returns the valid credential vector and its configuration:
// trust and status in memory, as a verifier holds them between refreshes.
func benchVector(b *testing.B) (*vectors.Vector, verifier.Config) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == "credential_valid" {
			return v, vectorConfig(b, vectorRoot(b), v)
		}
	}
	b.Fatal("no credential_valid vector")
	return nil, verifier.Config{}
}

// BenchmarkVerify is the whole verification of a valid QR text: Base45,
// CBOR decoding and canonical checks, trust lookup, SM2 signature, key
// state, validity and status list.
func BenchmarkVerify(b *testing.B) {
	v, cfg := benchVector(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := verifier.Verify(ctx, v.Text, cfg); r.Indication != verifier.Passed {
			b.Fatalf("%s %s", r.Indication, r.SubIndication)
		}
	}
}

// rawVerify returns a function doing BenchmarkSM2VerifyRaw's work once.
func rawVerify(b *testing.B, v *vectors.Vector, cfg verifier.Config) func() bool {
	_, raw, err := format.ParseQRText(v.Text)
	if err != nil {
		b.Fatal(err)
	}
	s, c, err := format.ParseCredential(raw)
	if err != nil {
		b.Fatal(err)
	}
	trust, err := cfg.Trust(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	pub, err := keys.ParsePublicKey(trust.List.Department(c.IssuerCode).Key(c.KeyID).PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	der, err := keys.DERSignature(s.Signature)
	if err != nil {
		b.Fatal(err)
	}
	return func() bool { return sm2.VerifyASN1WithSM2(pub, nil, s.Payload, der) }
}

// BenchmarkVerifyOverhead interleaves one full verification and one raw SM2
// verification per iteration and reports how much more the full one costs,
// in percent ("overhead-%"). It measures the thread's CPU time, not the wall
// clock, and interleaves, so that other processes on a busy machine skew
// neither side. The target is at most 10.
func BenchmarkVerifyOverhead(b *testing.B) {
	v, cfg := benchVector(b)
	raw := rawVerify(b, v, cfg)
	ctx := context.Background()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var full, floor time.Duration
	for b.Loop() {
		t0 := threadCPUTime()
		if r := verifier.Verify(ctx, v.Text, cfg); r.Indication != verifier.Passed {
			b.Fatalf("%s %s", r.Indication, r.SubIndication)
		}
		t1 := threadCPUTime()
		if !raw() {
			b.Fatal("signature does not verify")
		}
		t2 := threadCPUTime()
		full, floor = full+t1-t0, floor+t2-t1
	}
	b.ReportMetric(100*(float64(full)/float64(floor)-1), "overhead-%")
}

// BenchmarkSM2VerifyRaw is the floor: gmsm's SM2 verification (with the ZA
// computation) of the same payload, signature and key, and nothing else.
func BenchmarkSM2VerifyRaw(b *testing.B) {
	v, cfg := benchVector(b)
	raw := rawVerify(b, v, cfg)
	b.ReportAllocs()
	for b.Loop() {
		if !raw() {
			b.Fatal("signature does not verify")
		}
	}
}
