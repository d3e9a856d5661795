package format_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"elicence/format"
	"elicence/internal/vectors"
)

const vectorDir = "../testdata/vectors"

// canonical is an encoder independent of the package's own: core
// deterministic CBOR (RFC 8949 §4.2.1).
var canonical = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func reencode(t *testing.T, v any, want []byte, what string) {
	t.Helper()
	got, err := canonical.Marshal(v)
	if err != nil {
		t.Fatalf("%s: re-encode: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: decoded then re-encoded gives\n%x\nnot the input\n%x", what, got, want)
	}
}

func seedTexts(f *testing.F) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		f.Add(v.Text)
	}
}

func seedFiles(f *testing.F, pattern string) {
	matches, err := filepath.Glob(filepath.Join(vectorDir, pattern))
	if err != nil || len(matches) == 0 {
		f.Fatalf("no seed files %s", pattern)
	}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzQRText: whatever a QR text decodes to re-encodes to the same text and
// bytes; nothing panics.
func FuzzQRText(f *testing.F) {
	seedTexts(f)
	f.Fuzz(func(t *testing.T, text string) {
		q, err := format.ParseQR(text)
		if err != nil {
			return
		}
		kind, raw := q.Kind, q.Envelope
		var (
			s       format.Signed
			payload any
			inner   []byte
		)
		switch kind {
		case format.KindCredential:
			var (
				c  *format.Credential
				cc *format.CompactCredential
			)
			if q.Version == 1 {
				s, c, err = format.ParseCredential(raw)
			} else {
				s, c, cc, err = format.ParseAnyCredential(raw)
			}
			payload = c
			if cc != nil {
				payload = cc
			}
		case format.KindPresentation:
			var p *format.Presentation
			s, p, err = format.ParsePresentation(raw)
			payload = p
			if err == nil {
				inner = p.Credential
			}
		case format.KindAnnotatedCopy:
			var a *format.AnnotatedCopy
			s, a, err = format.ParseAnnotatedCopy(raw)
			payload = a
			if err == nil {
				inner = a.Credential
			}
		case format.KindDocumentReceipt:
			var r *format.DocumentReceipt
			s, r, err = format.ParseDocumentReceipt(raw)
			if err == nil {
				payload = receiptPayload(t, r)
			}
		default:
			t.Fatalf("ParseQR gave kind %v", kind)
		}
		if err != nil {
			if format.ProblemOf(err) == 0 {
				t.Fatalf("error without a problem class: %v", err)
			}
			return
		}
		if got := textOf(q, s); got != text && (q.Host == "" || !strings.HasSuffix(text, "/"+got)) {
			t.Fatalf("QR text does not re-encode: %q", got)
		}
		if !bytes.Equal(s.Encode(), raw) {
			t.Fatal("envelope does not re-encode")
		}
		reencode(t, payload, s.Payload, kind.String())
		if inner != nil {
			if _, c, cc, err := format.ParseAnyCredential(inner); err == nil {
				if cc != nil {
					reencode(t, cc, mustPayload(t, inner), "inner compact credential")
				} else {
					reencode(t, c, mustPayload(t, inner), "inner credential")
				}
			}
		}
	})
}

// textOf re-encodes s as the plain text of q's version.
func textOf(q format.QR, s format.Signed) string {
	if q.Version == 1 {
		return format.QRText(q.Kind, s)
	}
	return format.QRText2(q.Kind, s)
}

func mustPayload(t *testing.T, b []byte) []byte {
	s, err := format.ParseSigned("x", b)
	if err != nil {
		t.Fatal(err)
	}
	return s.Payload
}

// FuzzTrustList: a trust list that parses re-encodes to the same bytes.
func FuzzTrustList(f *testing.F) {
	seedTrustLists(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, tl, err := format.ParseTrustList(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("envelope does not re-encode")
		}
		reencode(t, tl, s.Payload, "trust list")
	})
}

// FuzzStatusList: a status list that parses re-encodes to the same bytes,
// and inflating it never panics or inflates past its size.
func FuzzStatusList(f *testing.F) {
	seedFiles(f, "status-*.cbor")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, l, err := format.ParseStatusList(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("envelope does not re-encode")
		}
		reencode(t, l, s.Payload, "status list")
		if st, err := l.Statuses(); err == nil {
			if st.Len() != int(l.Size) {
				t.Fatalf("%d entries, size says %d", st.Len(), l.Size)
			}
			_ = st.Get(st.Len() - 1)
			if ds, err := l.Details(st); err == nil {
				for i, d := range ds {
					if i > 0 && d.Index <= ds[i-1].Index || !d.Reason.Allows(st.Get(int(d.Index))) || d.ChangedAt > l.IssuedAt {
						t.Fatalf("accepted detail %+v breaks FORMAT.md §9.2", d)
					}
				}
			}
		}
	})
}

// The seeds themselves: every valid vector's text is canonical.
func TestVectorsAreCanonical(t *testing.T) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		if v.Indication != "PASSED" {
			continue
		}
		q, err := format.ParseQR(v.Text)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		s, err := format.ParseSigned(v.Name, q.Envelope)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if got := textOf(q, s); got != v.Text && (q.Host == "" || !strings.HasSuffix(v.Text, "/"+got)) {
			t.Fatalf("%s: QR text does not re-encode", v.Name)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no valid vectors")
	}
}

// FuzzDocumentReceipt: a receipt envelope that parses re-encodes to the
// same bytes and validates; nothing panics.
func FuzzDocumentReceipt(f *testing.F) {
	seedFiles(f, "*.cbor")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, r, err := format.ParseDocumentReceipt(b)
		if err != nil {
			if format.ProblemOf(err) == 0 {
				t.Fatalf("error without a problem class: %v", err)
			}
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("envelope does not re-encode")
		}
		if got := receiptPayload(t, r); !bytes.Equal(got, s.Payload) {
			t.Fatalf("payload does not re-encode:\n%x\n%x", got, s.Payload)
		}
	})
}

// receiptPayload re-encodes a parsed receipt; the fuzz targets compare it
// (as CBOR, through reencode, or as bytes) with the payload parsed.
func receiptPayload(t *testing.T, r *format.DocumentReceipt) cbor.RawMessage {
	t.Helper()
	b, err := r.EncodePayload()
	if err != nil {
		t.Fatalf("parsed receipt does not encode: %v", err)
	}
	return b
}
