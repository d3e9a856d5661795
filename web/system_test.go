package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"elicence/identifier"
)

// system is the running service the browser tests talk to, and the
// department-side API calls they make with the demo token.
type system struct {
	URL   string
	token string // the demo department's API token
	// businessType and foodType are demo licence type codes; relyingDept
	// is a department an annotated copy may name.
	businessType, foodType, relyingDept string
}

// licence is what the tests need of an issued licence.
type licence struct {
	ID     string `json:"id"`
	QRText string `json:"qr_text"`
}

// report is what the tests read of a verification report.
type report struct {
	Indication    string `json:"indication"`
	SubIndication string `json:"sub_indication"`
}

func (s *system) call(t *testing.T, method, path, token string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 20 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

func (s *system) issue(t *testing.T, req map[string]any) licence {
	t.Helper()
	var l licence
	s.call(t, "POST", "/v1/licences", s.token, req, &l, http.StatusCreated)
	if l.ID == "" || l.QRText == "" {
		t.Fatalf("issued licence without id or qr_text: %+v", l)
	}
	return l
}

func (s *system) revoke(t *testing.T, id, reason string) {
	t.Helper()
	s.call(t, "POST", "/v1/licences/"+id+"/revoke", s.token, map[string]string{"reason": reason}, nil, http.StatusOK)
}

func (s *system) holderLink(t *testing.T, holderID string) string {
	t.Helper()
	var l struct {
		URL string `json:"url"`
	}
	s.call(t, "POST", "/v1/holder-links", s.token, map[string]string{"holder_id": holderID}, &l, http.StatusCreated)
	return l.URL
}

func (s *system) verify(t *testing.T, text string) report {
	t.Helper()
	var r report
	s.call(t, "POST", "/v1/verify", "", map[string]string{"qr_text": text}, &r, http.StatusOK)
	return r
}

// usccFor completes a 17-character unified social credit code with its
// check character.
func usccFor(t *testing.T, body string) string {
	t.Helper()
	for _, c := range "0123456789ABCDEFGHJKLMNPQRTUWXY" {
		if s := body + string(c); identifier.ValidateUSCC(s) == nil {
			return s
		}
	}
	t.Fatalf("no check character makes %s a valid credit code", body)
	return ""
}
