package issuerapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"elicence/api/verifierapi"
	"elicence/document/pdf"
	"elicence/issuer"
	"elicence/issuer/issuertest"
)

// tenPagePDF is a ten-page PDF with some text on each page.
func tenPagePDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	const pages = 10
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	kids := ""
	for i := range pages {
		page, content := 3+2*i, 4+2*i
		kids += fmt.Sprintf("%d 0 R ", page)
		text := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (page %d of the notice) Tj ET", i+1)
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>", content, 3+2*pages),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages)
	objs = append(objs, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// BenchmarkDocumentHTTP signs a ten-page PDF through POST /v1/documents
// (SQLite store, one client) and verifies the signed PDF through POST
// /v1/verify/document, and reports each one's latency percentiles.
//
//	go test ./api/issuerapi -run '^$' -bench DocumentHTTP -benchtime 200x
func BenchmarkDocumentHTTP(b *testing.B) {
	e := newEnv(b, issuertest.SQLite(b), issuer.Config{}, Config{RateLimit: 1e9, RateBurst: 1e9})
	tok := e.tokens[issuertest.TokenIssuer]
	in := tenPagePDF()
	if n, err := pdf.PageCount(in); err != nil || n != 10 {
		b.Fatalf("the PDF has %d pages (%v), want 10", n, err)
	}
	body, ct := multipartBody(b, map[string]string{"title": "关于同意设立分公司的批复", "number": "闽市监〔2026〕12号"}, "file", "notice.pdf", in)
	sign := func() ([]byte, error) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/documents", bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		out, err := io.ReadAll(res.Body)
		if res.StatusCode != 201 {
			return nil, fmt.Errorf("sign: %d %s", res.StatusCode, out)
		}
		return out, err
	}
	cfg := e.verifyConfig()
	cfg.Department = ""
	vsrv := httptest.NewServer(verifierapi.NewHandler(verifierapi.Config{Verify: cfg}).Document())
	b.Cleanup(vsrv.Close)
	signed, err := sign()
	if err != nil {
		b.Fatal(err)
	}
	vbody, vct := multipartBody(b, nil, "file", "signed.pdf", signed)
	verify := func() error {
		res, err := http.Post(vsrv.URL, vct, bytes.NewReader([]byte(vbody)))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !bytes.Contains(out, []byte(`"indication":"PASSED"`)) {
			return fmt.Errorf("verify: %d %s", res.StatusCode, out)
		}
		return nil
	}
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
	}
	b.Run("sign", func(b *testing.B) {
		lat := make([]time.Duration, b.N)
		for i := range b.N {
			start := time.Now()
			if _, err := sign(); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(start)
		}
		report(b, lat)
	})
	b.Run("verify", func(b *testing.B) {
		lat := make([]time.Duration, b.N)
		for i := range b.N {
			start := time.Now()
			if err := verify(); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(start)
		}
		report(b, lat)
	})
}
