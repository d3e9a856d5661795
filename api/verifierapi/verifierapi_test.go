package verifierapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"elicence/api"
	"elicence/api/verifierapi"
	"elicence/format"
	"elicence/qr"
	"elicence/verifier"
	"elicence/verifier/verifiertest"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// service is a verifier server with a Cache in front of an issuer double.
type service struct {
	w     *verifiertest.World
	d     *verifiertest.Dept
	clock *verifiertest.Clock
	iss   *verifiertest.Issuer
	cache *verifier.Cache
	url   string // of the server, run as "elicence verifier serve" runs it
	cfg   verifierapi.Config
	reg   *prometheus.Registry
}

// newService starts a verifier for the department "RELY1". prepare may
// change the world (key states, departments) before the trust list is
// published.
func newService(t *testing.T, prepare func(*verifiertest.World)) *service {
	t.Helper()
	s := &service{w: verifiertest.NewWorld(t), clock: verifiertest.NewClock(t0), reg: prometheus.NewRegistry()}
	s.d = s.w.Depts[0]
	if prepare != nil {
		prepare(s.w)
	}
	s.iss = verifiertest.NewIssuer(t, s.w, s.clock.Now)
	c, err := verifier.New(context.Background(), verifier.FetchConfig{
		Root: s.w.RootPublic(), Trust: s.iss.TrustURL(), Now: s.clock.Now,
		Logger: slog.New(slog.DiscardHandler), Tick: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s.cache = c
	s.cfg = verifierapi.Config{
		Verify: verifier.Config{Trust: c.Trust, Status: c.Status, Now: s.clock.Now, MaxStaleness: time.Hour, Department: "RELY1",
			Memo: verifier.NewSignatureMemo(0)},
		Logger: slog.New(slog.DiscardHandler), Registry: s.reg, Gatherer: s.reg, Ready: c.Ready, Stats: c.Stats,
	}
	s.url = serveFast(t, verifierapi.New(s.cfg))
	return s
}

// cred returns a credential of d signed now (t0 - 1 h) at index in "L1".
func (s *service) cred(t *testing.T, index uint32) format.Signed {
	return s.w.Sign(t, s.d, s.w.Credential(s.d, verifiertest.Serial(int(index)), "L1", index, t0.Add(-time.Hour)))
}

func (s *service) qr(t *testing.T, index uint32) string {
	return format.QRText(format.KindCredential, s.cred(t, index))
}

func (s *service) post(t *testing.T, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(s.url+"/v1/verify", contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func jsonBody(text string) []byte {
	b, _ := json.Marshal(map[string]string{"qr_text": text})
	return b
}

// verify posts text as JSON and returns the report, demanding a 200.
func (s *service) verify(t *testing.T, text string) *verifier.Report {
	t.Helper()
	resp, body := s.post(t, "application/json", jsonBody(text))
	return report(t, resp, body)
}

func report(t *testing.T, resp *http.Response, body []byte) *verifier.Report {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var r verifier.Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func want(t *testing.T, r *verifier.Report, ind verifier.Indication, sub verifier.SubIndication) {
	t.Helper()
	if r.Indication != ind || r.SubIndication != sub {
		t.Fatalf("got %s/%s (%s), want %s/%s", r.Indication, r.SubIndication, r.Reason, ind, sub)
	}
}

func TestVerifyCredential(t *testing.T) {
	s := newService(t, nil)
	text := s.qr(t, 1)
	r := s.verify(t, text)
	want(t, r, verifier.Passed, "")
	if r.Licence == nil || r.Licence.HolderName != "张三" || r.Licence.TypeName != "测试执照" {
		t.Fatalf("licence %+v", r.Licence)
	}
	if r.Issuer == nil || r.Issuer.Code != "DEPTA" || r.Issuer.Name != "甲部门" {
		t.Fatalf("issuer %+v", r.Issuer)
	}
	if st := r.Status; st == nil || st.Value != "valid" || st.Source != "http" || st.TTLSeconds != 300 || st.IssuedAt.IsZero() || st.FetchedAt.IsZero() {
		t.Fatalf("status %+v: want how fresh the data was", r.Status)
	}
	// What a keyboard-wedge scanner adds is removed.
	for _, noisy := range []string{text + "\r\n", text + "\n", "  " + text + " \r", "\t" + text + "\r\n  "} {
		want(t, s.verify(t, noisy), verifier.Passed, "")
	}
	// Revocation and suspension show in the report.
	s.iss.SetStatus(s.d, "L1", 2, format.StatusRevoked)
	s.iss.SetStatus(s.d, "L1", 3, format.StatusSuspended)
	s.clock.Advance(time.Minute)
	s.verify(t, text) // kicks the refresh: max-age 60 s has passed
	deadline := time.Now().Add(5 * time.Second)
	for s.verify(t, s.qr(t, 2)).SubIndication != verifier.Revoked && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	want(t, s.verify(t, s.qr(t, 2)), verifier.Failed, verifier.Revoked)
	want(t, s.verify(t, s.qr(t, 3)), verifier.Failed, verifier.Suspended)

	// Past the maximum staleness (1 h here), with the issuer gone: TRY_LATER.
	s.iss.SetFailing(true)
	s.clock.Advance(2 * time.Hour)
	for _, i := range []uint32{1, 2, 3} {
		r := s.verify(t, s.qr(t, i))
		want(t, r, verifier.Indeterminate, verifier.TryLater)
		if r.Status.AgeSeconds < 3600 {
			t.Fatalf("age %d s", r.Status.AgeSeconds)
		}
	}
}

func TestVerifyFailures(t *testing.T) {
	s := newService(t, nil)
	good := s.cred(t, 1)
	tampered := good
	tampered.Signature = bytes.Clone(good.Signature)
	tampered.Signature[10] ^= 1
	forged := s.w.Credential(s.d, "7", "L1", 7, t0.Add(-time.Hour))
	forged.TypeCode = verifiertest.TypeB // DEPTA may issue TypeA only
	other := verifiertest.NewWorld(t)
	z := other.AddDept(t, "DEPTZ", "丙部门", verifiertest.TypeA)
	for _, c := range []struct {
		name string
		text string
		ind  verifier.Indication
		sub  verifier.SubIndication
	}{
		{"tampered", format.QRText(format.KindCredential, tampered), verifier.Failed, verifier.SigCryptoFailure},
		{"type not authorised", s.w.QR(t, s.d, forged), verifier.Failed, verifier.TypeNotAuthorised},
		{"unknown prefix", "HC1:ABC", verifier.Failed, verifier.UnsupportedFormat},
		{"bad base45", "LC1:abc", verifier.Failed, verifier.EncodingFailure},
		{"too long", "LC1:" + strings.Repeat("A", format.MaxQRText), verifier.Failed, verifier.InputTooLarge},
		{"unknown issuer", other.QR(t, z, other.Credential(z, "1", "L1", 1, t0)), verifier.Failed, verifier.UnknownIssuer},
		{"unknown key", other.QR(t, other.Depts[0], other.Credential(other.Depts[0], "1", "L1", 1, t0)), verifier.Failed, verifier.UnknownKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.verify(t, c.text)
			want(t, r, c.ind, c.sub)
			if r.Indication != verifier.Passed && r.Licence != nil && c.sub == verifier.SigCryptoFailure {
				t.Fatal("licence disclosed although the signature failed")
			}
		})
	}
}

func TestVerifyPresentation(t *testing.T) {
	s := newService(t, nil)
	cred := s.cred(t, 1)
	for _, c := range []struct {
		name      string
		notBefore time.Time
		sub       verifier.SubIndication
	}{
		{"fresh", t0.Add(-10 * time.Second), ""},
		{"expired within the skew", t0.Add(-80 * time.Second), ""},                          // expired 20 s ago
		{"older than its validity", t0.Add(-2 * time.Minute), verifier.PresentationExpired}, // expired 60 s ago
		{"from the future within the skew", t0.Add(20 * time.Second), ""},
		{"from the future", t0.Add(2 * time.Minute), verifier.PresentationNotYetValid},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.verify(t, s.w.PresentationQR(t, s.d, cred, c.notBefore, time.Minute))
			ind := verifier.Passed
			if c.sub != "" {
				ind = verifier.Failed
			}
			want(t, r, ind, c.sub)
			if r.Kind != "presentation" || r.Validity == nil || !r.Validity.Expires.Equal(c.notBefore.Add(time.Minute)) {
				t.Fatalf("kind %q, window %+v", r.Kind, r.Validity)
			}
		})
	}
}

func TestVerifyAnnotatedCopy(t *testing.T) {
	s := newService(t, func(w *verifiertest.World) { w.AddDept(t, "RELY1", "乙用证部门") })
	cred := s.cred(t, 1)
	r := s.verify(t, s.w.AnnotatedQR(t, s.d, cred, "RELY1", "办理开户", t0.Add(-time.Hour), 24*time.Hour))
	want(t, r, verifier.Passed, "")
	if a := r.Annotation; a == nil || a.Purpose != "办理开户" || a.RelyingDepartment != "RELY1" || a.RelyingDepartmentName != "乙用证部门" {
		t.Fatalf("annotation %+v: want purpose and relying department", r.Annotation)
	}
	r = s.verify(t, s.w.AnnotatedQR(t, s.d, cred, "OTHER", "办理开户", t0.Add(-time.Hour), 24*time.Hour))
	want(t, r, verifier.Failed, verifier.WrongRelyingDepartment)
	if r.Annotation == nil || r.Annotation.RelyingDepartment != "OTHER" {
		t.Fatalf("annotation %+v", r.Annotation)
	}
	r = s.verify(t, s.w.AnnotatedQR(t, s.d, cred, "RELY1", "办理开户", t0.Add(-48*time.Hour), 24*time.Hour))
	want(t, r, verifier.Failed, verifier.AnnotationExpired)
}

func TestVerifyKeyStates(t *testing.T) {
	T := t0.Add(-24 * time.Hour)
	// A compromised key fails whatever time it claims; a retired key's
	// credentials claiming a time before the retirement pass (docs/FORMAT.md §10).
	for _, c := range []struct {
		state  format.KeyState
		before verifier.Indication
		sub    verifier.SubIndication
		after  verifier.SubIndication
	}{
		{format.KeyCompromised, verifier.Failed, verifier.KeyCompromised, verifier.KeyCompromised},
		{format.KeyRetired, verifier.Passed, "", verifier.KeyRetired},
	} {
		t.Run(c.state.String(), func(t *testing.T) {
			var old *verifiertest.Dept
			s := newService(t, func(w *verifiertest.World) {
				d := w.Depts[0]
				k := *d
				old = &k // the department as it was, with its first key
				d.SetKeyState(c.state, T)
				w.NewKey(t, d) // status lists are signed with the new key
			})
			sign := func(at time.Time) string {
				return s.w.QR(t, old, s.w.Credential(old, "5", "L1", 5, at))
			}
			r := s.verify(t, sign(T.Add(-time.Hour)))
			want(t, r, c.before, c.sub)
			if r.Issuer.KeyState != c.state.String() {
				t.Fatalf("key state %q", r.Issuer.KeyState)
			}
			r = s.verify(t, sign(T.Add(time.Hour)))
			want(t, r, verifier.Failed, c.after)
			// The new key verifies whatever it signs.
			want(t, s.verify(t, s.qr(t, 6)), verifier.Passed, "")
		})
	}
}

// pngOf draws text as a QR code.
func pngOf(t *testing.T, text string) []byte {
	t.Helper()
	b, err := qr.PNG(text, qr.Options{ModulePixels: 4})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func multipartBody(t *testing.T, fields map[string][]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, data := range fields {
		fw, err := mw.CreateFormFile(name, name+".png")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestVerifyImage(t *testing.T) {
	s := newService(t, nil)
	text := s.qr(t, 1)
	pngData := pngOf(t, text)
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"png": pngData, "jpeg": jpg.Bytes()} {
		t.Run(name, func(t *testing.T) {
			body, ct := multipartBody(t, map[string][]byte{"image": data})
			resp, b := s.post(t, ct, body)
			r := report(t, resp, b)
			want(t, r, verifier.Passed, "")
			if r.Licence == nil || r.Licence.HolderName != "张三" {
				t.Fatalf("licence %+v", r.Licence)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	s := newService(t, nil)
	blank := func() []byte {
		img := image.NewGray(image.Rect(0, 0, 200, 200))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		return b.Bytes()
	}()
	huge := make([]byte, verifierapi.DefaultMaxImage+1)
	copy(huge, pngOf(t, s.qr(t, 1)))
	mp := func(fields map[string][]byte) ([]byte, string) { return multipartBody(t, fields) }
	noImage, noImageCT := mp(map[string][]byte{})
	blankBody, blankCT := mp(map[string][]byte{"image": blank})
	textBody, textCT := mp(map[string][]byte{"image": []byte("LC1:NOT AN IMAGE")})
	hugeBody, hugeCT := mp(map[string][]byte{"image": huge})
	otherBody, otherCT := mp(map[string][]byte{"image": blank, "photo": blank})
	for _, c := range []struct {
		name   string
		ct     string
		body   []byte
		status int
		field  string
	}{
		{"missing qr_text", "application/json", []byte(`{}`), 422, "qr_text"},
		{"null qr_text", "application/json", []byte(`{"qr_text":null}`), 422, "qr_text"},
		{"empty qr_text", "application/json", []byte(`{"qr_text":"  \r\n"}`), 422, "qr_text"},
		{"qr_text not a string", "application/json", []byte(`{"qr_text":42}`), 422, "qr_text"},
		{"unknown field", "application/json", []byte(`{"qr_text":"LC1:A","dept":"X"}`), 422, "dept"},
		{"malformed json", "application/json", []byte(`{"qr_text":`), 400, ""},
		{"two json values", "application/json", []byte(`{"qr_text":"A"}{}`), 400, ""},
		{"json too large", "application/json", jsonBody(strings.Repeat("A", 20<<10)), 413, ""},
		{"text/plain", "text/plain", []byte("LC1:ABC"), 415, ""},
		{"form urlencoded", "application/x-www-form-urlencoded", []byte("qr_text=LC1"), 415, ""},
		{"malformed content type", "multipart/form-data; boundary", []byte("x"), 415, ""},
		{"multipart without boundary", "multipart/form-data", []byte("x"), 400, ""},
		{"multipart malformed", "multipart/form-data; boundary=zzz", []byte("garbage"), 400, ""},
		{"no image", noImageCT, noImage, 422, "image"},
		{"no qr code in image", blankCT, blankBody, 422, "image"},
		{"not an image", textCT, textBody, 422, "image"},
		{"image too large", hugeCT, hugeBody, 413, ""},
		{"other field", otherCT, otherBody, 422, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.post(t, c.ct, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p api.Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != c.status || p.RequestID == "" || p.Instance != "/v1/verify" {
				t.Fatalf("problem %+v", p)
			}
			if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
				t.Fatalf("problem fields %+v, want %s", p.Errors, c.field)
			}
		})
	}

	resp, err := http.Get(s.url + "/v1/verify")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /v1/verify: %d", resp.StatusCode)
	}
}

// TestNeverServerError throws random and mutated input at the handler: every
// answer is a report (200) or a client error, never a 500.
func TestNeverServerError(t *testing.T) {
	s := newService(t, nil)
	good := s.qr(t, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for i := range 300 {
		var text string
		switch i % 3 {
		case 0: // mutate one character of a valid text
			b := []byte(good)
			b[4+rng.IntN(len(b)-4)] = alphabet[rng.IntN(len(alphabet))]
			text = string(b)
		case 1: // truncate
			text = good[:rng.IntN(len(good))]
		default: // random bytes
			b := make([]byte, rng.IntN(200))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			text = "LC1:" + string(b)
		}
		resp, body := s.post(t, "application/json", jsonBody(text))
		if resp.StatusCode >= 500 {
			t.Fatalf("input %q: %d %s", text, resp.StatusCode, body)
		}
		if resp.StatusCode == http.StatusOK {
			var r verifier.Report
			if err := json.Unmarshal(body, &r); err != nil || r.Indication == verifier.Passed && text != good {
				t.Fatalf("input %q: %s", text, body)
			}
		}
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	s := newService(t, nil)
	get := func(path string) (int, string) {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	want(t, s.verify(t, s.qr(t, 1)), verifier.Passed, "")
	s.verify(t, "HC1:X")
	_, metrics := get("/metrics")
	for _, m := range []string{
		`elicence_verifications_total{indication="PASSED",sub_indication=""} 1`,
		`elicence_verifications_total{indication="FAILED",sub_indication="UNSUPPORTED_FORMAT"} 1`,
		`elicence_verifier_status_list_age_seconds{issuer="DEPTA",list="L1"}`,
		`elicence_verifier_stream_connected 0`,
		`elicence_verifier_trust_list_sequence 1`,
		`elicence_http_requests_total{method="POST",route="/v1/verify",status="200"} 2`,
		`elicence_verifier_signature_memo_total{result="hit"} 0`,
		`elicence_verifier_signature_memo_total{result="miss"} 1`,
		`elicence_verifier_signature_memo_entries 1`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	// Past the trust list's next update the verifier is not ready.
	s.iss.SetFailing(true)
	s.clock.Advance(25 * time.Hour)
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "trust list") {
		t.Fatalf("readyz with a stale trust list: %d %s", code, body)
	}
}

func TestNotReadyWithoutTrust(t *testing.T) {
	w := verifiertest.NewWorld(t)
	c, err := verifier.New(context.Background(), verifier.FetchConfig{
		Root: w.RootPublic(), Trust: "http://127.0.0.1:1/v1/trust-list", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(verifierapi.New(verifierapi.Config{Verify: verifier.Config{Trust: c.Trust, Status: c.Status}}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz without a trust list: %d", resp.StatusCode)
	}
	// Verification says try later, never passed or failed.
	resp, err = http.Post(srv.URL+"/v1/verify", "application/json", bytes.NewReader(jsonBody(fmt.Sprint(
		format.QRText(format.KindCredential, w.Sign(t, w.Depts[0], w.Credential(w.Depts[0], "1", "L1", 1, t0)))))))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want(t, report(t, resp, b), verifier.Indeterminate, verifier.TryLater)
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"LC1:AB\r\n":    "LC1:AB",
		"LC1:AB\n":      "LC1:AB",
		"LC1:AB\r":      "LC1:AB",
		" LC1:AB \r\n ": "LC1:AB",
		"LC1:AB\n\n":    "LC1:AB\n", // only one line ending: the rest is the verifier's to refuse
		"LC1:A B":       "LC1:A B",
	} {
		if got := verifierapi.CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}
