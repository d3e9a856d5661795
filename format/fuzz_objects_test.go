package format_test

import (
	"bytes"
	"testing"

	"elicence/format"
	"elicence/internal/vectors"
)

// seedRaw seeds f with the signed bytes of every vector of kind k.
func seedRaw(f *testing.F, k format.Kind) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		if kind, raw, err := format.ParseQRText(v.Text); err == nil && kind == k {
			f.Add(raw)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no %s vectors to seed from", k)
	}
}

// fuzzSigned is the property every signed object's parser keeps: what
// parses re-encodes to the same envelope and payload bytes, and what fails
// has a problem class.
func fuzzSigned[T any](f *testing.F, k format.Kind, parse func([]byte) (format.Signed, *T, error)) {
	seedRaw(f, k)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, v, err := parse(b)
		if err != nil {
			if format.ProblemOf(err) == 0 {
				t.Fatalf("error without a problem class: %v", err)
			}
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("envelope does not re-encode")
		}
		reencode(t, v, s.Payload, k.String())
	})
}

// FuzzCredential: the signed credential bytes (inside the QR text).
func FuzzCredential(f *testing.F) { fuzzSigned(f, format.KindCredential, format.ParseCredential) }

// FuzzPresentation: the signed presentation bytes.
func FuzzPresentation(f *testing.F) { fuzzSigned(f, format.KindPresentation, format.ParsePresentation) }

// FuzzAnnotatedCopy: the signed annotated-copy bytes.
func FuzzAnnotatedCopy(f *testing.F) {
	fuzzSigned(f, format.KindAnnotatedCopy, format.ParseAnnotatedCopy)
}
