package format

import (
	"bytes"
	"reflect"
	"testing"

	"elicence/internal/vectors"
)

// FuzzFastCredential: the fast credential decoder and the general one
// accept the same payloads, with the same results and the same problems.
func FuzzFastCredential(f *testing.F) {
	vs, err := vectors.Load("../testdata/vectors")
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		kind, raw, err := ParseQRText(v.Text)
		if err != nil {
			continue
		}
		s, err := ParseSigned("seed", raw)
		if err != nil {
			continue
		}
		if kind != KindCredential {
			// The credential inside a presentation or annotated copy.
			var p Presentation
			if decMode.Unmarshal(s.Payload, &p) == nil {
				if inner, err := ParseSigned("seed", p.Credential); err == nil {
					f.Add(inner.Payload)
				}
			}
		}
		f.Add(s.Payload)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		fast, ferr := DecodeCredential(p)
		slow, serr := decodeCredential(p)
		if (ferr == nil) != (serr == nil) || ProblemOf(ferr) != ProblemOf(serr) {
			t.Fatalf("fast path: %v; general decoder: %v", ferr, serr)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast path decoded %+v, general decoder %+v", fast, slow)
		}
	})
}

// The fast path is the one taken for canonical credentials (else the
// differential fuzz test above would prove nothing), and it refuses the
// non-canonical forms the general decoder refuses.
func TestFastCredentialTaken(t *testing.T) {
	vs, err := vectors.Load("../testdata/vectors")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		if v.Indication != "PASSED" || v.Text[:4] != PrefixCredential {
			continue
		}
		_, raw, _ := ParseQRText(v.Text)
		s, err := ParseSigned(v.Name, raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastCredential(s.Payload); !ok {
			t.Errorf("%s: fast path refused a canonical credential", v.Name)
		}
		// A non-canonical variant: the version 1 written as 18 01.
		i := bytes.Index(s.Payload, []byte{0x04, 0x01, 0x05})
		long := append(append(append([]byte{}, s.Payload[:i+1]...), 0x18, 0x01), s.Payload[i+2:]...)
		if _, ok := fastCredential(long); ok {
			t.Errorf("%s: fast path accepted a non-shortest integer", v.Name)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no valid credential vectors")
	}
}
