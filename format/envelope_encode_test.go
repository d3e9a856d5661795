package format

import (
	"bytes"
	"testing"
)

// TestSignedEncodeMatchesCBOR holds the directly written envelope to the
// CBOR library's canonical encoding at every length-header boundary, and
// to what ParseSigned reads back; envelopes outside the fast path (no
// payload, a signature of another size) still go through the library.
func TestSignedEncodeMatchesCBOR(t *testing.T) {
	sig := bytes.Repeat([]byte{0xa5}, 64)
	for _, n := range []int{0, 1, 23, 24, 25, 255, 256, 257, 65535, 65536, 65537, MaxSigned - 100} {
		payload := bytes.Repeat([]byte{byte(n)}, n)
		for _, s := range []Signed{{Payload: payload, Signature: sig}, {Payload: payload, Signature: sig[:10]}, {Payload: nil, Signature: sig}, {Payload: payload}} {
			want, err := encMode.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Encode(); !bytes.Equal(got, want) {
				t.Fatalf("payload %d bytes, signature %d: Encode differs from the CBOR library's encoding", n, len(s.Signature))
			}
		}
		enc := Signed{Payload: payload, Signature: sig}.Encode()
		if n+2+64+5 > MaxSigned {
			continue
		}
		back, err := ParseSigned("x", enc)
		if err != nil || !bytes.Equal(back.Payload, payload) || !bytes.Equal(back.Signature, sig) {
			t.Fatalf("payload %d bytes: round trip: %v", n, err)
		}
	}
}
