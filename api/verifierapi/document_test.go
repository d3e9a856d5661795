package verifierapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"elicence/api/verifierapi"
	"elicence/verifier"
)

// TestDocumentRoute: the documented example is answered with a report;
// forms without a file, with an empty or unknown part, too large or not
// multipart are problem details naming what is wrong. (Verdicts on signed
// documents are tested end to end in api/issuerapi, TestVerifyDocuments,
// against an issuer's published trust and status lists.)
func TestDocumentRoute(t *testing.T) {
	_, examples := documentedOpsForDocument(t)
	srv := httptest.NewServer(verifierapi.New(verifierapi.Config{MaxDocument: 1 << 10}))
	defer srv.Close()
	post := func(body, ct string) (int, string, []byte) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/verify/document", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	status, ct, b := post(examples, "multipart/form-data; boundary=elicence-example")
	var rep verifier.Report
	if status != 200 || ct != "application/json" || json.Unmarshal(b, &rep) != nil || rep.Indication != verifier.Failed || rep.SubIndication != verifier.UnsupportedFormat {
		t.Fatalf("documented example: %d %s %s", status, ct, b)
	}
	form := func(parts map[string][]byte) (string, string) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range parts {
			fw, _ := w.CreateFormFile(k, k+".bin")
			fw.Write(v)
		}
		w.Close()
		return buf.String(), w.FormDataContentType()
	}
	for name, c := range map[string]struct {
		parts  map[string][]byte
		status int
		field  string
	}{
		"no file":         {map[string][]byte{"signature": []byte("x")}, 422, "file"},
		"empty signature": {map[string][]byte{"file": []byte("x"), "signature": {}}, 422, "signature"},
		"unknown part":    {map[string][]byte{"file": []byte("x"), "image": []byte("y")}, 422, "image"},
		"too large":       {map[string][]byte{"file": bytes.Repeat([]byte("x"), 2<<10)}, 413, ""},
	} {
		body, ct := form(c.parts)
		status, pct, b := post(body, ct)
		var pd struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		json.Unmarshal(b, &pd)
		if status != c.status || pct != "application/problem+json" || (c.field != "" && (len(pd.Errors) == 0 || pd.Errors[0].Field != c.field)) {
			t.Errorf("%s: %d %s %s", name, status, pct, b)
		}
	}
	if status, _, b := post(`{"file":"x"}`, "application/json"); status != 415 {
		t.Errorf("json: %d %s", status, b)
	}
}

// documentedOpsForDocument returns the example of POST
// /v1/verify/document, a YAML double-quoted string.
func documentedOpsForDocument(t *testing.T) (map[string]bool, string) {
	ops, examples := documentedOps(t)
	ex, ok := examples["POST /v1/verify/document"]
	if !ok {
		t.Fatal("POST /v1/verify/document has no example")
	}
	s, err := strconv.Unquote(ex)
	if err != nil {
		t.Fatalf("example is not a double-quoted string: %v", err)
	}
	return ops, s
}
