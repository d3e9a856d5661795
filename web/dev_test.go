package web_test

// TEMPORARY development harness; removed before hand-over.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/qr"
	"elicence/verifier"
	"elicence/verifier/verifiertest"
	"elicence/web"
)

func TestDevServer(t *testing.T) {
	if os.Getenv("ELICENCE_WEB_DEV") == "" {
		t.Skip("dev only")
	}
	w := verifiertest.NewWorld(t)
	now := time.Now
	iss := verifiertest.NewIssuer(t, w, now)
	d := w.Dept("DEPTA")
	cache, err := verifier.New(context.Background(), verifier.FetchConfig{Root: w.RootPublic(), Trust: iss.TrustURL()})
	if err != nil {
		t.Fatal(err)
	}
	c1 := w.Credential(d, verifiertest.Serial(1), "L1", 5, time.Now())
	c2 := w.Credential(d, verifiertest.Serial(2), "L1", 6, time.Now())
	c1.RecordDigest = c1.RecordDigest[:16]
	c2.RecordDigest = c2.RecordDigest[:16]
	c1.HolderName = "福州市鼓楼区某某科技有限公司"
	c1.HolderID = "91350102MA*******X"
	s1 := w.Sign(t, d, c1)
	good := format.QRText(format.KindCredential, s1)
	revoked := w.QR(t, d, c2)
	iss.SetStatus(d, "L1", 6, format.StatusRevoked)
	pres := w.PresentationQR(t, d, s1, time.Now().Add(-2*time.Minute), time.Minute)
	os.WriteFile("/tmp/dev-qr.json", []byte(`{"good":"`+good+`","revoked":"`+revoked+`","pres":"`+pres+`"}`), 0o644)
	png, _ := qr.PNG(good, qr.Options{ModulePixels: 5})
	os.WriteFile("/tmp/dev-qr.png", png, 0o644)
	mux := http.NewServeMux()
	h := web.Handler(web.AllPages())
	mux.Handle("/", h)
	mux.HandleFunc("POST /v1/verify", func(rw http.ResponseWriter, r *http.Request) {
		var text string
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			f, _, err := r.FormFile("image")
			if err != nil {
				http.Error(rw, err.Error(), 400)
				return
			}
			b, _ := io.ReadAll(f)
			text, err = qr.DecodeBytes(b)
			if err != nil {
				rw.Header().Set("Content-Type", "application/problem+json")
				rw.WriteHeader(422)
				rw.Write([]byte(`{"title":"no qr code found"}`))
				return
			}
		} else {
			var req struct{ QRText string `json:"qr_text"` }
			json.NewDecoder(r.Body).Decode(&req)
			text = req.QRText
		}
		rep := verifier.Verify(r.Context(), text, verifier.Config{Trust: cache.Trust, Status: cache.Status, Department: "DEPTA"})
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(rep)
	})
	js := func(rw http.ResponseWriter, v any) {
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(v)
	}
	mux.HandleFunc("POST /v1/wallet/session", func(rw http.ResponseWriter, r *http.Request) {
		js(rw, map[string]any{"session": "S1", "holder_name": "福州市鼓楼区某某科技有限公司", "expires_at": time.Now().Add(time.Hour)})
	})
	mux.HandleFunc("GET /v1/wallet/licences", func(rw http.ResponseWriter, r *http.Request) {
		js(rw, map[string]any{"licences": []map[string]any{
			{"id": "1.2.156.3005.2.TYPEA001.DEPTA.00000001.001.G", "type_code": "TYPEA001", "type_name": "营业执照", "holder_name": c1.HolderName, "holder_id": c1.HolderID, "issuer_code": "DEPTA", "issuer_name": "示例市市场监督管理局", "valid_from": "2025-01-01", "valid_until": "2030-12-31", "status": "valid", "qr_text": good},
			{"id": "X2", "type_code": "TYPEB001", "type_name": "食品经营许可证", "holder_name": c1.HolderName, "holder_id": c1.HolderID, "issuer_code": "DEPTA", "issuer_name": "示例市市场监督管理局", "valid_from": "2025-01-01", "valid_until": nil, "status": "revoked", "qr_text": revoked},
		}})
	})
	mux.HandleFunc("POST /v1/wallet/licences/{id}/presentations", func(rw http.ResponseWriter, r *http.Request) {
		nb := time.Now()
		js(rw, map[string]any{"qr_text": w.PresentationQR(t, d, s1, nb, 5*time.Second), "not_before": nb, "expires_at": nb.Add(5 * time.Second), "refresh_seconds": 5})
	})
	mux.HandleFunc("POST /v1/wallet/licences/{id}/annotated-copies", func(rw http.ResponseWriter, r *http.Request) {
		js(rw, map[string]any{"qr_text": w.AnnotatedQR(t, d, s1, "DEPTA", "办理企业开户", time.Now(), 24*time.Hour), "expires_at": time.Now().Add(24 * time.Hour)})
	})
	mux.HandleFunc("GET /v1/departments", func(rw http.ResponseWriter, r *http.Request) {
		js(rw, map[string]any{"departments": []map[string]any{{"code": "DEPTA", "name": "甲部门"}, {"code": "DEPTB", "name": "乙部门"}}})
	})
	srv := &http.Server{Addr: "127.0.0.1:8123", Handler: mux}
	go srv.ListenAndServe()
	time.Sleep(20 * time.Minute)
}
