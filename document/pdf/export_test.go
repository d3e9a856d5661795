package pdf

import "testing"

// The corpus and the outside judges, exported to room_test.go (package
// pdf_test), which runs the corpus through the issuer's documents room.

// CorpusSample is one PDF of the corpus.
type CorpusSample struct {
	Name  string
	PDF   []byte
	Pages int // 0: not checked
}

// Corpus returns the PDFs of producers outside this project (see corpus).
func Corpus(t *testing.T) []CorpusSample {
	var out []CorpusSample
	for _, s := range corpus(t) {
		out = append(out, CorpusSample{s.name, s.pdf, s.pages})
	}
	return out
}

// Judge is judge: qpdf --check, pdfsig and OpenSSL on a signed file.
func Judge(t *testing.T, signed []byte, sigs int, last Signature, signer string) {
	t.Helper()
	judge(t, signed, sigs, last, signer)
}

// Outside judges and edits of a signed file, for room_test.go.
var (
	AppendAnnotation = appendAnnotation
	LastPage         = lastPage
	QPDFCheck        = qpdfCheck
)

// RenderQR renders page at 150 dpi and decodes its QR codes.
func RenderQR(t *testing.T, pdf []byte, page int) []string { return renderQR(t, pdf, page, false) }
