package format

import (
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
