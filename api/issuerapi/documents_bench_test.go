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
	"elicence/document/pdf/pdftest"
	"elicence/issuer"
	"elicence/issuer/issuertest"
)

// BenchmarkDocumentHTTP signs a ten-page PDF through POST /v1/documents
// (SQLite store, one client) and verifies the signed PDF through POST
// /v1/verify/document, and reports each one's latency percentiles.
//
//	go test ./api/issuerapi -run '^$' -bench DocumentHTTP -benchtime 200x
func BenchmarkDocumentHTTP(b *testing.B) {
	e := newEnv(b, issuertest.SQLite(b), issuer.Config{}, Config{RateLimit: 1e9, RateBurst: 1e9})
	tok := e.tokens[issuertest.TokenIssuer]
	in := pdftest.Pages(10)
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
