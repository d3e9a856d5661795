// Package pdftest writes small PDFs by hand for tests: files no PDF
// library made, so that what the signer and verifier read is exactly what
// the test wrote.
package pdftest

import (
	"bytes"
	"fmt"
)

// OnePage returns a one-page A4 PDF with a classic cross-reference table,
// the page showing text in Helvetica and turned by rotate degrees (0, 90,
// 180 or 270).
func OnePage(text string, rotate int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Rotate %d /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>", rotate),
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	return write(&b, objs)
}

// Pages returns an A4 PDF of n pages (n ≥ 1) with a classic
// cross-reference table, page i showing "page i of n" in Helvetica.
func Pages(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	font := 3 + 2*n
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	kids := ""
	for i := range n {
		page, content := 3+2*i, 4+2*i
		kids += fmt.Sprintf("%d 0 R ", page)
		text := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (page %d of %d) Tj ET", i+1, n)
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>", content, font),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n)
	objs = append(objs, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	return write(&b, objs)
}

// write appends objs to b as objects 1, 2, … and the cross-reference
// table and trailer that index them, the first object the catalogue.
func write(b *bytes.Buffer, objs []string) []byte {
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(b, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}
