package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/internal/testenv"
	"elicence/keys"
	"elicence/tlog"
)

// Settings of the end-to-end run: short enough to watch lists expire.
const (
	statusTTL       = 4 * time.Second // the issuer's status-list time-to-live
	presentationTTL = 2 * time.Second // the issuer's dynamic QR validity
	skew            = time.Second     // the verifiers' clock-skew tolerance
	maxStaleness    = 8 * time.Second // the verifiers' maximum staleness

	passphrase  = "e2e passphrase, test only"
	demoToken   = "e2e-demo-token-test-only"
	issuingDept = "11350100MB00000012" // the demo department: issues every demo type
	relyingDept = "11350100MB00000025" // the second demo department: our verifiers act for it
)

var issuerEnv = []string{"ELICENCE_PASSPHRASE=" + passphrase, "ELICENCE_DEMO_TOKEN=" + demoToken}

// licence is the part of the issuer's licence JSON the test uses.
type licence struct {
	ID       string    `json:"id"`
	QRText   string    `json:"qr_text"`
	IssuedAt time.Time `json:"issued_at"`
	Status   string    `json:"status"`
}

// issuerAPI calls the issuer's REST API.
type issuerAPI struct {
	t     testing.TB
	base  string
	token string
}

func (a issuerAPI) call(method, path, body string, want int) []byte {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

func (a issuerAPI) issue() licence {
	a.t.Helper()
	body, err := os.ReadFile("../testdata/licences/business.json")
	if err != nil {
		a.t.Fatal(err)
	}
	var l licence
	if err := json.Unmarshal(a.call("POST", "/v1/licences", string(body), http.StatusCreated), &l); err != nil {
		a.t.Fatal(err)
	}
	if !strings.Contains(l.QRText, "/V/LC2:") {
		a.t.Fatalf("issued licence without a QR text: %+v", l)
	}
	return l
}

func (a issuerAPI) lifecycle(l licence, action, body string) {
	a.t.Helper()
	a.call("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/"+action, body, http.StatusOK)
}

// startIssuer runs "elicence serve" (issuer, embedded store and demo keys)
// on addr and returns its base URL.
func startIssuer(t *testing.T, data, addr string) (*proc, string) {
	t.Helper()
	p := start(t, "issuer", issuerEnv, "serve", "--data", data, "--addr", addr,
		"--status-ttl", statusTTL.String(), "--presentation-ttl", presentationTTL.String())
	base := p.await(t, listenAddr, 60*time.Second)
	waitReady(t, base, 30*time.Second)
	return p, base
}

// startVerifier runs "elicence verifier serve" pinned to root and
// fetching from the issuer at base, acting for relyingDept.
func startVerifier(t testing.TB, name, root, base string, extra ...string) string {
	t.Helper()
	args := append([]string{"verifier", "serve", "--root", root, "--trust", base + "/v1/trust-list",
		"--dept", relyingDept, "--addr", "127.0.0.1:0", "--max-staleness", maxStaleness.String(),
		"--skew", skew.String(), "--max-refresh", "1s"}, extra...)
	p := start(t, name, nil, args...)
	vbase := p.await(t, listenAddr, 30*time.Second)
	waitReady(t, vbase, 30*time.Second)
	return vbase
}

// waitCoSigned waits until the issuer at base says (lookup, docs/FORMAT.md
// §17.4) that the credential of the QR text is in a co-signed checkpoint
// of its department's log.
func waitCoSigned(t *testing.T, base, qrText string) {
	t.Helper()
	q, err := format.ParseQR(qrText)
	if err != nil {
		t.Fatal(err)
	}
	leaf := tlog.NewLeaf(tlog.KindCredential, q.Envelope)
	u := base + "/tlog/" + issuingDept + "/" + tlog.LookupPath(leaf.Hash())
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var pos tlog.Position
		err = json.NewDecoder(resp.Body).Decode(&pos)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil && pos.CheckpointSize != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d, %+v, %v: not in a co-signed checkpoint after 10 s", u, resp.StatusCode, pos, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// until polls verify until the report's verdict is want, and returns how
// long that took; it fails after limit.
func until(t *testing.T, vbase, text, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last *report
	for time.Since(start) <= limit {
		last = verify(t, vbase, text)
		if last.verdict() == want {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not %s within %s: last %s (%s)", want, limit, last.verdict(), last.Reason)
	return 0
}

func expect(t testing.TB, r *report, want string) {
	t.Helper()
	if r.verdict() != want {
		t.Fatalf("got %s (%s), want %s", r.verdict(), r.Reason, want)
	}
}

// businessType is the type of testdata/licences/business.json.
const businessType = "11100000MB0000001T001"

// resign re-signs the credential of a QR text with key after changing it,
// as a version-1 (kind 1) credential in a version-2 text: a compact
// credential is first resolved as the verifier would (docs/FORMAT.md §5.1).
func resign(t *testing.T, text string, key *keys.Pair, change func(*format.Credential)) string {
	t.Helper()
	q, err := format.ParseQR(text)
	if err != nil {
		t.Fatal(err)
	}
	_, c, cc, err := format.ParseAnyCredential(q.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if cc != nil {
		id := key.ID()
		c = cc.Resolve(issuingDept, businessType, id[:])
	}
	change(c)
	s, err := format.SignCredential(key.Key, *c)
	if err != nil {
		t.Fatal(err)
	}
	return format.QRText2(format.KindCredential, s)
}

// TestEndToEnd runs an issuer and two verifiers as separate processes of
// the elicence binary, talking HTTP, through a licence's whole life and
// the issuer's outage. Verifier A subscribes to the event stream; verifier
// B polls only (--no-stream).
func TestEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts processes and waits for lists to expire")
	data := t.TempDir()
	iss, base := startIssuer(t, data, "127.0.0.1:0")
	root := filepath.Join(data, keys.RootCertFile) // "pin this in verifiers"
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("the issuer's root certificate: %v", err)
	}
	api := issuerAPI{t: t, base: base, token: demoToken}
	a := startVerifier(t, "verifier A", root, base)
	b := startVerifier(t, "verifier B (no stream)", root, base, "--no-stream")

	l := api.issue()
	t.Run("issue: passed at both verifiers and at elicence serve", func(t *testing.T) {
		expect(t, verify(t, base, l.QRText), "PASSED") // the all-in-one server's POST /v1/verify
		for _, v := range []string{a, b} {
			r := verify(t, v, l.QRText)
			expect(t, r, "PASSED")
			if r.Licence == nil || r.Licence.ID != l.ID || r.Status == nil || r.Status.Source != "http" {
				t.Fatalf("report %+v", r)
			}
		}
	})

	t.Run("revoke: REVOKED within 1 s with the stream, within the TTL without", func(t *testing.T) {
		// Both verifiers hold the list before the revocation.
		expect(t, verify(t, a, l.QRText), "PASSED")
		expect(t, verify(t, b, l.QRText), "PASSED")
		api.lifecycle(l, "revoke", `{"reason":"cancelled"}`)
		revoked := time.Now()
		took := until(t, a, l.QRText, "FAILED/REVOKED", time.Second)
		if src := verify(t, a, l.QRText).Status.Source; src != "stream" {
			t.Errorf("verifier A learnt the revocation from %q, want the stream", src)
		}
		t.Logf("verifier A (stream): REVOKED after %s", took.Round(time.Millisecond))
		until(t, b, l.QRText, "FAILED/REVOKED", statusTTL-time.Since(revoked))
		t.Logf("verifier B (no stream, TTL %s): REVOKED after %s", statusTTL, time.Since(revoked).Round(time.Millisecond))
	})

	s := api.issue()
	t.Run("suspend, reinstate", func(t *testing.T) {
		expect(t, verify(t, a, s.QRText), "PASSED")
		api.lifecycle(s, "suspend", `{"reason":"investigation"}`)
		t.Logf("SUSPENDED after %s", until(t, a, s.QRText, "FAILED/SUSPENDED", time.Second).Round(time.Millisecond))
		api.lifecycle(s, "reinstate", `{}`)
		t.Logf("PASSED again after %s", until(t, a, s.QRText, "PASSED", time.Second).Round(time.Millisecond))
		until(t, b, s.QRText, "PASSED", statusTTL)
	})

	t.Run("tampered: SIG_CRYPTO_FAILURE", func(t *testing.T) {
		_, raw, err := format.ParseQRText(s.QRText)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := format.ParseSigned("credential", raw)
		if err != nil {
			t.Fatal(err)
		}
		sig.Signature = bytes.Clone(sig.Signature)
		sig.Signature[7] ^= 0x20
		expect(t, verify(t, a, format.QRText2(format.KindCredential, sig)), "FAILED/SIG_CRYPTO_FAILURE")
	})

	t.Run("photo of the QR code", func(t *testing.T) {
		png := api.call("GET", "/v1/licences/"+url.PathEscape(s.ID)+"/qr.png", "", http.StatusOK)
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("image", "licence.png")
		fw.Write(png)
		mw.Close()
		resp, err := http.Post(a+"/v1/verify", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r report
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
		expect(t, &r, "PASSED")
	})

	t.Run("dynamic QR: passed, then PRESENTATION_EXPIRED", func(t *testing.T) {
		var p struct {
			QRText    string    `json:"qr_text"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal(api.call("POST", "/v1/licences/"+url.PathEscape(s.ID)+"/presentations", "", http.StatusCreated), &p); err != nil {
			t.Fatal(err)
		}
		r := verify(t, a, p.QRText)
		expect(t, r, "PASSED")
		if r.Kind != "presentation" {
			t.Fatalf("kind %q", r.Kind)
		}
		time.Sleep(time.Until(p.ExpiresAt.Add(skew + time.Second)))
		expect(t, verify(t, a, p.QRText), "FAILED/PRESENTATION_EXPIRED")
	})

	t.Run("annotated copy: shown here passes, meant elsewhere fails", func(t *testing.T) {
		copyFor := func(dept string) string {
			var c struct {
				QRText string `json:"qr_text"`
			}
			body := fmt.Sprintf(`{"relying_department":%q,"purpose":"办理车辆登记","expires_in_days":30}`, dept)
			if err := json.Unmarshal(api.call("POST", "/v1/licences/"+url.PathEscape(s.ID)+"/annotated-copies", body, http.StatusCreated), &c); err != nil {
				t.Fatal(err)
			}
			return c.QRText
		}
		r := verify(t, a, copyFor(relyingDept))
		expect(t, r, "PASSED")
		if r.Annotation == nil || r.Annotation.Purpose != "办理车辆登记" || r.Annotation.RelyingDepartment != relyingDept {
			t.Fatalf("annotation %+v", r.Annotation)
		}
		r = verify(t, a, copyFor(issuingDept))
		expect(t, r, "FAILED/WRONG_RELYING_DEPARTMENT")
		if r.Annotation == nil || r.Annotation.RelyingDepartment != issuingDept {
			t.Fatalf("annotation %+v", r.Annotation)
		}
	})

	// The department's signing key, as a rogue insider or a thief has it.
	deptKey, err := keys.LoadPair(filepath.Join(data, "keys"), keys.DeptFile(issuingDept, "key"), keys.DeptFile(issuingDept, "crt"), []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a type the department may not issue: TYPE_NOT_AUTHORISED", func(t *testing.T) {
		rogue := resign(t, s.QRText, &deptKey, func(c *format.Credential) { c.TypeCode = "11100000MB0000001T999" })
		expect(t, verify(t, a, rogue), "FAILED/TYPE_NOT_AUTHORISED")
	})

	t.Run("a key compromised since T fails everything it signed after T, and what it signed before T without a co-signed proof of it", func(t *testing.T) {
		before := api.issue()
		// The issuer logs it and the witness co-signs a checkpoint holding
		// it (within a second); T is after that cosignature's time.
		waitCoSigned(t, base, before.QRText)
		T := time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(T.Add(100 * time.Millisecond)))
		after := api.issue() // signed by the same key, after T
		if !after.IssuedAt.After(T) && !after.IssuedAt.Equal(T) {
			t.Fatalf("second licence issued at %s, not after %s", after.IssuedAt, T)
		}
		r := verify(t, a, after.QRText)
		expect(t, r, "PASSED")
		oldKey := r.keyID(t)

		// The operator rotates the department's key, then marks the old
		// one compromised since T in a trust list signed with the root
		// key, and the issuer serves that list.
		op := operatorToken(t, data)
		issuerAPI{t: t, base: base, token: op}.call("POST", "/v1/admin/departments/"+issuingDept+"/keys", "", http.StatusCreated)
		tl := filepath.Join(t.TempDir(), "trust.cbor")
		if err := os.WriteFile(tl, api.call("GET", "/v1/trust-list", "", http.StatusOK), 0o644); err != nil {
			t.Fatal(err)
		}
		addr := strings.TrimPrefix(base, "http://")
		iss.stop(t)
		run(t, "trust", "key-state", "--keys", filepath.Join(data, "keys"), "--in", tl, "--out", tl,
			"--key", oldKey, "--state", "compromised", "--since", T.UTC().Format(time.RFC3339))
		iss = start(t, "issuer (operator-signed trust list)", issuerEnv, "issuer", "serve",
			"--db", filepath.Join(data, "elicence.db"), "--trust-list", tl, "--root-cert", root,
			"--addr", addr, "--status-ttl", statusTTL.String(), "--presentation-ttl", presentationTTL.String())
		iss.await(t, listenAddr, 60*time.Second)
		waitReady(t, base, 30*time.Second)

		until(t, a, after.QRText, "FAILED/KEY_COMPROMISED", 10*time.Second)
		// What the key signed before T and the issuance log proves by a
		// checkpoint co-signed before T still passes (docs/FORMAT.md §12.1);
		// a signer's own time proves nothing: a licence forged with the
		// stolen key, dated now or backdated to before T, is in no
		// checkpoint co-signed before T and fails.
		expect(t, verify(t, a, before.QRText), "PASSED")
		for _, at := range []time.Time{time.Now(), T.Add(-time.Hour)} {
			forged := resign(t, s.QRText, &deptKey, func(c *format.Credential) {
				c.Serial, c.IssuedAt = "99999999", at.Unix()
			})
			expect(t, verify(t, a, forged), "FAILED/KEY_COMPROMISED")
		}
		// What the department issues now is signed by its new key: the
		// licences the next step relies on, one valid and one revoked.
		s, l = api.issue(), api.issue()
		until(t, a, s.QRText, "PASSED", 5*time.Second)
		api.lifecycle(l, "revoke", `{"reason":"cancelled"}`)
		until(t, a, l.QRText, "FAILED/REVOKED", 5*time.Second)
	})

	t.Run("issuer stopped: from cache until the maximum staleness, then TRY_LATER", func(t *testing.T) {
		valid := s.QRText // l is revoked, s valid
		expect(t, verify(t, a, valid), "PASSED")
		expect(t, verify(t, a, l.QRText), "FAILED/REVOKED")
		iss.stop(t)
		stopped := time.Now()
		fromCache, tryLater := 0, map[string]bool{}
		for time.Since(stopped) < maxStaleness+statusTTL+3*time.Second && len(tryLater) < 2 {
			for text, fresh := range map[string]string{valid: "PASSED", l.QRText: "FAILED/REVOKED"} {
				r := verify(t, a, text)
				switch v := r.verdict(); {
				case v == "INDETERMINATE/TRY_LATER":
					tryLater[text] = true
				case tryLater[text]:
					t.Fatalf("%s after TRY_LATER (%s)", v, r.Reason)
				case v != fresh:
					t.Fatalf("%s (%s), want %s or TRY_LATER", v, r.Reason, fresh)
				case r.Status.AgeSeconds > int64(maxStaleness/time.Second):
					t.Fatalf("%s with a list %d s old, past the maximum staleness", v, r.Status.AgeSeconds)
				default:
					fromCache++
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(tryLater) < 2 {
			t.Fatalf("not TRY_LATER %s after the issuer stopped", time.Since(stopped).Round(time.Second))
		}
		if fromCache == 0 {
			t.Fatal("no answer from the cache after the issuer stopped")
		}
		t.Logf("%d answers from the cache, then TRY_LATER %s after the issuer stopped", fromCache, time.Since(stopped).Round(100*time.Millisecond))
	})
}

// keyID returns the ID of the key that signed, from a report.
func (r *report) keyID(t *testing.T) string {
	t.Helper()
	if r.IssuerInfo == nil || r.IssuerInfo.KeyID == "" {
		t.Fatalf("report without the signing key: %s", r.verdict())
	}
	return r.IssuerInfo.KeyID
}

// operatorToken creates an operator token in the issuer's store.
func operatorToken(t *testing.T, data string) string {
	t.Helper()
	out := run(t, "issuer", "token", "create", "--data", data, "--scopes", "operator", "--name", "e2e operator")
	return strings.TrimSpace(out)
}

// run runs elicence to completion and returns its standard output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), issuerEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("elicence %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}
