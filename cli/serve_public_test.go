package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"elicence/issuer"
)

// checkPublicVerifier proves that the verifier "elicence serve" mounts is
// public: an annotated copy is valid there for no department, not even the
// demo departments, so nobody gets "annotated copy valid" on a relying
// department's behalf. base is a running serve with the demo token.
func checkPublicVerifier(t *testing.T, base, work string) {
	t.Helper()
	call := func(method, path string, body []byte, want int, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer demo-token")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d", method, path, res.StatusCode, want)
		}
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	body, err := os.ReadFile(filepath.Join(work, "testdata", "licences", "driving.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ ID string }
	call("POST", "/v1/licences", body, http.StatusCreated, &l)
	for _, dept := range []string{issuer.DemoDepartment2Code, issuer.DemoDepartmentCode} {
		var c struct {
			QRText string `json:"qr_text"`
		}
		call("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/annotated-copies",
			fmt.Appendf(nil, `{"relying_department":%q,"purpose":"办理车辆登记","expires_in_days":30}`, dept), http.StatusCreated, &c)
		qrBody, _ := json.Marshal(map[string]string{"qr_text": c.QRText})
		var r struct {
			Indication    string `json:"indication"`
			SubIndication string `json:"sub_indication"`
			Annotation    *struct {
				RelyingDepartment string `json:"relying_department"`
			} `json:"annotation"`
		}
		call("POST", "/v1/verify", qrBody, http.StatusOK, &r)
		if r.Indication != "FAILED" || r.SubIndication != "WRONG_RELYING_DEPARTMENT" || r.Annotation == nil || r.Annotation.RelyingDepartment != dept {
			t.Errorf("annotated copy for %s at the public verifier: %+v, want FAILED/WRONG_RELYING_DEPARTMENT naming %s", dept, r, dept)
		}
		// The batch route is mounted too, with the same checks.
		batchBody, _ := json.Marshal(map[string][]string{"qr_texts": {c.QRText, c.QRText}})
		var b struct {
			Reports []struct {
				Indication    string `json:"indication"`
				SubIndication string `json:"sub_indication"`
			} `json:"reports"`
		}
		call("POST", "/v1/verify/batch", batchBody, http.StatusOK, &b)
		if len(b.Reports) != 2 || b.Reports[0].SubIndication != "WRONG_RELYING_DEPARTMENT" || b.Reports[1].SubIndication != "WRONG_RELYING_DEPARTMENT" {
			t.Errorf("annotated copy for %s at the public batch verifier: %+v, want two FAILED/WRONG_RELYING_DEPARTMENT", dept, b)
		}
	}
}
