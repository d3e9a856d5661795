package pdf

import (
	"bytes"
	"fmt"
	"testing"

	"elicence/document/cms/cmstest"
)

// tenPages writes a 10-page PDF of some 60 lines of text a page.
func tenPages() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	kids := ""
	for i := range 10 {
		kids += fmt.Sprintf("%d 0 R ", 4+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count 10 >>", kids))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range 10 {
		var c bytes.Buffer
		for l := range 60 {
			fmt.Fprintf(&c, "BT /F1 10 Tf 50 %d Td (page %d line %d: the quick brown fox jumps over the lazy dog) Tj ET\n", 800-12*l, i+1, l+1)
		}
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << /Font << /F1 3 0 R >> >> >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", c.Len(), c.Bytes()))
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x)
	return b.Bytes()
}

// go test -run '^$' -bench PDF10 ./document/pdf
func BenchmarkSignPDF10Pages(b *testing.B) {
	root := cmstest.NewRoot(b, now)
	s := root.Department(b, "A", deptName, now)
	in := tenPages()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Sign(in, Options{Signer: s, Stamp: &Stamp{QRText: qrText, Department: deptName, DocumentNumber: docNum}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPDF10Pages(b *testing.B) {
	root := cmstest.NewRoot(b, now)
	s := root.Department(b, "A", deptName, now)
	out, err := Sign(tenPages(), Options{Signer: s, Stamp: &Stamp{QRText: qrText, Department: deptName, DocumentNumber: docNum}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if err := Verify(out).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
