package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"elicence/cli"
	"elicence/identifier"
	"elicence/issuer"
)

// system is the running service the browser tests talk to, and the
// department-side API calls they make with the demo token.
type system struct {
	URL   string
	token string // the demo department's API token
	// businessType and foodType are demo licence type codes; relyingDept
	// is a department an annotated copy may name.
	businessType, foodType, relyingDept string
	// stop ends the service before the test does (e.g. a phone with no
	// server to reach at all).
	stop func()
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

// signDocument signs a small text file as the demo department and
// returns its receipt's QR text.
func (s *system) signDocument(t *testing.T, title, number string) string {
	t.Helper()
	receipt, _ := s.signFile(t, title, number, []byte("兹同意。"+title))
	return receipt
}

// signFile signs content as the demo department and returns the receipt's
// QR text and the .p7s.
func (s *system) signFile(t *testing.T, title, number string, content []byte) (string, []byte) {
	t.Helper()
	hdr, body := s.sign(t, title, number, "notice.txt", content)
	return hdr.Get("Elicence-Receipt"), body
}

// sign sends a file to POST /v1/documents as the demo department and
// returns the answer's headers and the signed file (a stamped, signed PDF
// or a .p7s).
func (s *system) sign(t *testing.T, title, number, name string, content []byte) (http.Header, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("title", title)
	w.WriteField("number", number)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(content)
	w.Close()
	req, err := http.NewRequest("POST", s.URL+"/v1/documents", &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated || res.Header.Get("Elicence-Receipt") == "" {
		t.Fatalf("sign document: %d %s", res.StatusCode, body)
	}
	return res.Header, body
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

// demoToken is the demo department's API token in these tests.
const demoToken = "web-test-demo-token-0123456789abcdef"

// startSystem runs "elicence serve" in this process, exactly as the
// command does (fresh data directory, embedded store, demo departments,
// issuer, verifier and pages on one port), with dynamic QR codes valid for
// ttl and a verifier clock-skew tolerance of a second, so that an expired
// dynamic QR is refused soon after its refresh. It stops when the test ends.
//
// extra arguments follow the test's own (a later flag wins).
func startSystem(t *testing.T, ttl time.Duration, extra ...string) *system {
	t.Helper()
	t.Setenv(issuer.DemoTokenEnv, demoToken)
	t.Setenv(cli.PassphraseEnv, "web test passphrase")
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		code = cli.Run(ctx, &cli.Env{Stdout: out, Stderr: out, Now: time.Now}, append([]string{
			"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--log-level", "warn",
			"--presentation-ttl", ttl.String(), "--skew", "1s",
		}, extra...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("elicence serve did not stop")
		}
	})
	api := regexp.MustCompile(`API\s+(http://\S+)/v1/`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := api.FindStringSubmatch(out.String()); m != nil {
			s := &system{URL: m[1], token: demoToken, businessType: issuer.TypeBusinessLicence,
				foodType: issuer.TypeFoodPermit, relyingDept: issuer.DemoDepartment2Code,
				stop: func() { cancel(); <-done }}
			s.waitReady(t)
			return s
		}
		select {
		case <-done:
			t.Fatalf("elicence serve exited with status %d:\n%s", code, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("elicence serve did not start:\n%s", out)
		}
	}
}

func (s *system) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz: not ready: %v", s.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
