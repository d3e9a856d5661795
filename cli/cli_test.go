package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/keys"
	"elicence/verifier"
)

// result is what one in-process run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// elicence runs the command line in-process with a fixed clock.
func elicence(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }}
	code := Run(context.Background(), env, args)
	return result{code, out.String(), errb.String()}
}

func mustRun(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	r := elicence(t, now, args...)
	if r.code != 0 {
		t.Fatalf("elicence %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// testPassphrase encrypts the keys the tests make.
const testPassphrase = "cli test passphrase"

// sharedKeys is a key directory made once for the package: PBKDF2 with
// 100 000 iterations is slow under the race detector, so tests copy these
// keys rather than making their own.
var sharedKeys string

func TestMain(m *testing.M) {
	os.Setenv(PassphraseEnv, testPassphrase)
	os.Unsetenv(PassphraseEnv + "_FILE")
	dir, err := os.MkdirTemp("", "elicence-cli-test")
	if err != nil {
		panic(err)
	}
	sharedKeys = filepath.Join(dir, "keys")
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Now: time.Now}
	if code := Run(context.Background(), env, []string{"keys", "init", "--dir", sharedKeys}); code != 0 {
		panic(out.String())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// demo is a copy of the shared keys with a trust list, a status list and
// the reference business licence issued at index 4242.
type demo struct {
	dir, keys, trust, status, qrText, png string
	now                                   time.Time
}

func newDemo(t *testing.T) *demo {
	t.Helper()
	dir := t.TempDir()
	d := &demo{
		dir: dir, keys: filepath.Join(dir, "keys"), trust: filepath.Join(dir, "trust.cbor"),
		status: filepath.Join(dir, "status-1.cbor"), qrText: filepath.Join(dir, "licence.txt"),
		png: filepath.Join(dir, "licence.png"), now: time.Now().Truncate(time.Second),
	}
	if err := os.CopyFS(d.keys, os.DirFS(sharedKeys)); err != nil {
		t.Fatal(err)
	}
	mustRun(t, d.now, "trust", "build", "--keys", d.keys, "--out", d.trust)
	mustRun(t, d.now, "status", "build", "--keys", d.keys, "--list", "1", "--out", d.status)
	mustRun(t, d.now, "issue", "--keys", d.keys, "--in", "../testdata/licences/business.json",
		"--status-index", "4242", "--out-qr", d.qrText, "--png", d.png, "--cbor", filepath.Join(dir, "licence.cbor"))
	return d
}

func (d *demo) verify(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	return elicence(t, now, append([]string{"verify", "--keys", d.keys, "--trust", d.trust, "--status", d.status}, args...)...)
}

func TestIssueAndVerify(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	r := d.verify(t, d.now, "--in", d.qrText)
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "通过 PASSED\n") {
		t.Fatalf("verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"营业执照", "福州示例科技有限公司 91350100M000100Y43", "法定代表人: 张三", "2024-05-20 to 长期", "状态 status: valid (list 1, index 4242)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The full record stays with the issuer: the registered address is bound, not shown.
	if strings.Contains(r.stdout, "五四路") {
		t.Errorf("verify shows an undisclosed field:\n%s", r.stdout)
	}
	// A scanner's CR LF, a file's LF: one is stripped, two are not.
	text, _ := os.ReadFile(d.qrText)
	for _, c := range []struct {
		suffix string
		code   int
	}{{"\r\n", ExitOK}, {"\r", ExitOK}, {"", ExitOK}, {"\n\n", ExitFailed}} {
		f := filepath.Join(d.dir, "in.txt")
		os.WriteFile(f, []byte(strings.TrimSuffix(string(text), "\n")+c.suffix), 0o644)
		if r := d.verify(t, d.now, "--in", f); r.code != c.code {
			t.Errorf("text ending %q: exit %d, want %d\n%s", c.suffix, r.code, c.code, r.stdout)
		}
	}
	// Standard input, as from a keyboard-wedge scanner.
	var out bytes.Buffer
	env := &Env{Stdin: strings.NewReader(string(text)), Stdout: &out, Stderr: &out, Now: func() time.Time { return d.now }}
	if code := Run(context.Background(), env, []string{"verify", "--keys", d.keys, "--trust", d.trust, "--status", d.status, "--in", "-"}); code != ExitOK {
		t.Errorf("verify from standard input: exit %d\n%s", code, out.String())
	}
	// The argument form, and JSON.
	r = d.verify(t, d.now, "--json", strings.TrimSpace(string(text)))
	if r.code != ExitOK || !strings.Contains(r.stdout, `"indication": "PASSED"`) {
		t.Errorf("verify --json: exit %d\n%s", r.code, r.stdout)
	}
	// The image.
	if r := d.verify(t, d.now, "--image", d.png); r.code != ExitOK {
		t.Errorf("verify --image: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Stale status data is INDETERMINATE, exit 2.
	if r := d.verify(t, d.now.Add(48*time.Hour)); r.code != ExitUsage {
		t.Errorf("verify with nothing to verify: exit %d, want %d", r.code, ExitUsage)
	}
	r = d.verify(t, d.now, "--in", d.qrText, "--now", d.now.Add(48*time.Hour).Format(time.RFC3339))
	if r.code != ExitIndeterminate || !strings.HasPrefix(r.stdout, "无法确定 INDETERMINATE TRY_LATER\n") {
		t.Errorf("stale status: exit %d\n%s", r.code, r.stdout)
	}
}

func TestStatusLifecycle(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	for _, c := range []struct {
		status, first string
		code          int
	}{
		{"suspended", "不通过 FAILED SUSPENDED", ExitFailed},
		{"valid", "通过 PASSED", ExitOK},
		{"revoked", "不通过 FAILED REVOKED", ExitFailed},
	} {
		mustRun(t, d.now, "status", "set", "--keys", d.keys, "--in", d.status, "--index", "4242", "--status", c.status, "--out", d.status)
		r := d.verify(t, d.now.Add(time.Minute), "--in", d.qrText)
		if r.code != c.code || !strings.HasPrefix(r.stdout, c.first+"\n") {
			t.Errorf("after status set %s: exit %d\n%s", c.status, r.code, r.stdout)
		}
	}
}

func TestKeyCompromised(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	cert, err := readDeptCert(d.keys, issuer.DemoDepartmentCode)
	if err != nil {
		t.Fatal(err)
	}
	id := keys.IDOfDER(cert.RawSubjectPublicKeyInfo)
	since := d.now.Add(-time.Hour).Format(time.RFC3339)
	mustRun(t, d.now, "trust", "key-state", "--keys", d.keys, "--in", d.trust, "--out", d.trust, "--key", id.String(), "--state", "compromised", "--since", since)
	r := d.verify(t, d.now, "--in", d.qrText)
	if r.code != ExitFailed || !strings.HasPrefix(r.stdout, "不通过 FAILED KEY_COMPROMISED\n") {
		t.Errorf("verify after compromise: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A compromised key cannot be demoted to retired.
	if r := elicence(t, d.now, "trust", "key-state", "--keys", d.keys, "--in", d.trust, "--out", d.trust, "--key", id.String(), "--state", "retired"); r.code != ExitError {
		t.Errorf("compromised to retired: exit %d\n%s", r.code, r.stderr)
	}
}

func TestErrorsKeepSecrets(t *testing.T) {
	d := newDemo(t)
	t.Setenv(PassphraseEnv, "not the passphrase")
	r := elicence(t, d.now, "status", "build", "--keys", d.keys, "--list", "2", "--out", filepath.Join(d.dir, "s2.cbor"))
	if r.code != ExitError || !strings.Contains(r.stderr, "wrong passphrase") || strings.Contains(r.stderr, "not the passphrase") {
		t.Errorf("wrong passphrase: exit %d, %q", r.code, r.stderr)
	}
	// The full citizen ID of a driving licence holder appears nowhere.
	t.Setenv(PassphraseEnv, testPassphrase)
	r = mustRun(t, d.now, "issue", "--keys", d.keys, "--in", "../testdata/licences/driving.json", "--out-qr", "-")
	if strings.Contains(r.stdout+r.stderr, "350102199003071525") || !strings.Contains(r.stderr, "3501**********1525") {
		t.Errorf("issue output shows the full citizen ID or not the masked one:\n%s%s", r.stdout, r.stderr)
	}
	text := strings.TrimSpace(r.stdout)
	r = d.verify(t, d.now, text)
	if r.code != ExitOK || strings.Contains(r.stdout, "350102199003071525") {
		t.Errorf("verify driving licence: exit %d\n%s", r.code, r.stdout)
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		in   string
	}{
		{[]string{"TEXT", "--in", "f"}, []string{"TEXT"}, "f"},
		{[]string{"--in", "f", "TEXT"}, []string{"TEXT"}, "f"},
		{[]string{"--in", "f", "--", "--not-a-flag"}, []string{"--not-a-flag"}, "f"},
	} {
		fs := newFlagSet()
		in := fs.String("in", "", "")
		pos, err := parseFlags(fs, c.args)
		if err != nil || strings.Join(pos, "|") != strings.Join(c.pos, "|") || *in != c.in {
			t.Errorf("parseFlags(%q) = %q, in %q, %v", c.args, pos, *in, err)
		}
	}
}

// TestVerifyStalenessFollowsTTL: offline, a status list is accepted by
// default for its own time-to-live (1 h, as "status build" signs it) plus
// the grace, and no longer; a longer window is the department's explicit
// --max-staleness.
func TestVerifyStalenessFollowsTTL(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	limit := time.Hour + verifier.DefaultStalenessGrace
	if r := d.verify(t, d.now.Add(limit), "--in", d.qrText); r.code != ExitOK {
		t.Fatalf("at TTL plus grace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := d.verify(t, d.now.Add(limit+time.Second), "--in", d.qrText)
	if r.code != ExitIndeterminate || !strings.Contains(r.stdout, "TRY_LATER") {
		t.Fatalf("past TTL plus grace: exit %d, want %d TRY_LATER\n%s%s", r.code, ExitIndeterminate, r.stdout, r.stderr)
	}
	if r := d.verify(t, d.now.Add(limit+time.Second), "--max-staleness", "24h", "--in", d.qrText); r.code != ExitOK {
		t.Fatalf("with --max-staleness 24h: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := d.verify(t, d.now, "--max-staleness", "-1s", "--in", d.qrText); r.code != ExitUsage {
		t.Fatalf("negative --max-staleness: exit %d, want usage\n%s", r.code, r.stderr)
	}
}

// TestPresentationTTLBeyondVerifierCap: issuers refuse a presentation
// lifetime longer than verifiers accept, before they start.
func TestPresentationTTLBeyondVerifierCap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, cmd := range [][]string{{"serve", "--data", dir}, {"issuer", "serve", "--db", filepath.Join(dir, "x.db")}} {
		args := append(append([]string{}, cmd...), "--presentation-ttl", "10m")
		r := elicence(t, time.Now(), args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "--presentation-ttl 10m0s: at most 5m0s") {
			t.Errorf("%v: exit %d, want usage naming the cap\n%s", cmd, r.code, r.stderr)
		}
	}
}

// TestOIDCFlags: an incomplete identity provider configuration is a usage
// error naming what is missing, before the service starts.
func TestOIDCFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--oidc-client-id", "x"}, "need --oidc-issuer"},
		{[]string{"--oidc-issuer", "https://idp.example/"}, "--oidc-issuer needs --oidc-client-secret-file"},
		{[]string{"--oidc-issuer", "https://idp.example/", "--oidc-client-secret-file", filepath.Join(dir, "missing")}, "--oidc-client-secret-file"},
		{[]string{"--oidc-issuer", "https://idp.example/", "--oidc-client-secret-file", secret}, "needs a client ID, a redirect URL"},
		{[]string{"--oidc-issuer", "idp.example", "--oidc-client-secret-file", secret, "--oidc-client-id", "c", "--oidc-redirect-url", "https://i.example/v1/wallet/oidc/callback"}, "is not an absolute http(s) URL"},
	} {
		for _, cmd := range [][]string{{"serve", "--data", dir}, {"issuer", "serve", "--db", filepath.Join(dir, "x.db")}} {
			r := elicence(t, time.Now(), append(append([]string{}, cmd...), c.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%v %v: exit %d, want usage with %q\n%s", cmd, c.args, r.code, c.want, r.stderr)
			}
			if strings.Contains(r.stderr, "s3cret") {
				t.Errorf("%v %v: the client secret is in the message", cmd, c.args)
			}
		}
	}
}
