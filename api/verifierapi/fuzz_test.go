package verifierapi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"elicence/api/verifierapi"
	"elicence/qr"
	"elicence/verifier"
)

// FuzzVerifyRequest sends arbitrary bodies to POST /v1/verify, as JSON or
// as a multipart upload (the form, then the image decoder): the answer is
// never a 500, an error is a problem document, and a 200 is a report with
// an indication. Trust is unavailable, so no report can be PASSED.
func FuzzVerifyRequest(f *testing.F) {
	h := verifierapi.NewHandler(verifierapi.Config{
		Logger: slog.New(slog.DiscardHandler),
		Verify: verifier.Config{
			Trust: func(context.Context) (*verifier.Trust, error) { return nil, errors.New("no trust list") },
		},
	})
	text := "LC1:" + strings.Repeat("0", 40)
	png, err := qr.PNG(text, qr.Options{ModulePixels: 2})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "qr.png")
	fw.Write(png)
	mw.Close()
	img, boundary := buf.Bytes(), mw.Boundary()
	f.Add(false, []byte(`{"qr_text":"`+text+`"}`))
	f.Add(false, []byte(text+"\r\n"))
	f.Add(true, img)
	f.Add(true, []byte("--"+boundary+"\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n\r\n--"+boundary+"--\r\n"))
	f.Fuzz(func(t *testing.T, asForm bool, body []byte) {
		ctype := "application/json"
		if asForm {
			ctype = "multipart/form-data; boundary=" + boundary
		}
		req := httptest.NewRequest("POST", "/v1/verify", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case w.Code == http.StatusInternalServerError:
			t.Fatalf("500 for %q", body)
		case w.Code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json"):
			t.Fatalf("%d without a problem document", w.Code)
		case w.Code == http.StatusOK && (strings.Contains(w.Body.String(), `"PASSED"`) || !strings.Contains(w.Body.String(), `"indication"`)):
			t.Fatalf("200 %s", w.Body)
		}
	})
}
