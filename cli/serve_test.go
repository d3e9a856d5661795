package cli

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"elicence/internal/testenv"
)

// readmeBlock returns the sh block of README.md that follows the comment
// "<!-- NAME: tested by …-->".
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- "+name+": tested by ")
	if ok {
		_, rest, ok = strings.Cut(rest, "-->\n```sh\n")
	}
	if !ok {
		t.Fatalf("README.md has no %s", name)
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// buildWork builds the binary into a temporary directory and makes a work
// directory beside it with links to the repository's dirs (testdata, …),
// as a checkout the README's commands run in. It returns the binary, the
// work directory and the temporary directory.
func buildWork(t *testing.T, dirs ...string) (bin, work, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "elicence")
	if out, err := exec.Command("go", "build", "-o", bin, "elicence/cmd/elicence").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work = filepath.Join(dir, "work")
	os.MkdirAll(work, 0o755)
	repo, _ := filepath.Abs("..")
	for _, d := range dirs {
		if err := os.Symlink(filepath.Join(repo, d), filepath.Join(work, d)); err != nil {
			t.Fatal(err)
		}
	}
	return bin, work, dir
}

// runWalkthrough runs a README walkthrough's script with bash in work
// against the server at base, with bin for "go run ./cmd/elicence" and
// temporary files in dir. bash runs with -e: any failing step (a curl -f
// on a 401) fails it.
func runWalkthrough(script, base, bin, work, dir string) ([]byte, error) {
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", base)
	script = strings.ReplaceAll(script, "go run ./cmd/elicence", bin)
	sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
	sh.Dir = work
	sh.Env = append(os.Environ(), "TMPDIR="+dir)
	return sh.CombinedOutput()
}

// serveWalkthrough returns the shell lines of README.md's service
// walkthrough, without the line that starts the server.
func serveWalkthrough(t *testing.T) []string {
	t.Helper()
	block := readmeBlock(t, "service walkthrough")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if strings.Contains(l, "make run") {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// TestServeWalkthrough builds the binary, runs "elicence serve" on a fresh
// data directory and runs README.md's service walkthrough against it: the
// curl commands issue a licence, fetch its QR code and revoke it, and
// "elicence verify" then reports REVOKED. The server then stops gracefully
// on SIGTERM; "audit verify" finds the chain whole, and names the first bad
// entry once one is edited behind the store's back.
func TestServeWalkthrough(t *testing.T) {
	testenv.SkipShort(t, "builds the binary and starts a server")
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Missing(t, "curl", "apt-get install curl")
	}
	bin, work, dir := buildWork(t, "testdata")

	srv, base, stdout, logs := startServe(t, bin, work)
	for _, want := range []string{"demo token  from ELICENCE_DEMO_TOKEN, stored on this run as token demo\n", "data/root.crt", "passphrase  generated into data/passphrase"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("serve output lacks %q:\n%s", want, stdout.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(work, "data", "passphrase")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("data/passphrase: %v, mode %v", err, fi.Mode())
	}

	out, err := runWalkthrough(strings.Join(serveWalkthrough(t), "\n"), base, bin, work, dir)
	var ee *exec.ExitError
	if err != nil || !strings.Contains(string(out), "不通过 FAILED REVOKED\n") || !strings.Contains(string(out), "exit status 1\n") {
		t.Fatalf("walkthrough: %v, want REVOKED and exit status 1:\n%s", err, out)
	}
	if ms, _ := filepath.Glob(filepath.Join(dir, "*", "licence.png")); len(ms) != 1 {
		t.Errorf("the walkthrough wrote licence.png %d times into its temporary directory", len(ms))
	}
	// The walkthrough leaves nothing in the repository but ./data, which
	// .gitignore covers.
	if es, _ := os.ReadDir(work); len(es) != 2 {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("after the walkthrough the repository holds %v, want only data and testdata", names)
	}

	stopServe(t, srv, logs)

	// A second run on the same data directory reuses everything and makes
	// no new token.
	srv, base, stdout, logs = startServe(t, bin, work)
	if !strings.Contains(stdout.String(), "demo token  from ELICENCE_DEMO_TOKEN (token demo, stored on an earlier run)") {
		t.Errorf("second run output:\n%s", stdout.String())
	}
	again := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base+"/v1/licences",
		"-H", "Authorization: Bearer demo-token", "-H", "Content-Type: application/json", "-d", "@testdata/licences/driving.json")
	again.Dir = work
	if out, err := again.Output(); err != nil || string(out) != "201" {
		t.Errorf("issuing after a restart: %s %v", out, err)
	}
	checkPublicVerifier(t, base, work)
	stopServe(t, srv, logs)

	audit := func() (string, int) {
		cmd := exec.Command(bin, "audit", "verify", "--data", "data")
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := audit(); code != 0 || !strings.Contains(out, "audit chain verifies") {
		t.Fatalf("audit verify: exit %d\n%s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(work, "data", "elicence.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET actor = 'mallory' WHERE seq = 5`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if out, code := audit(); code != 1 || !strings.Contains(out, "first bad entry is 5") {
		t.Errorf("audit verify after tampering: exit %d\n%s", code, out)
	}
}

// lockedBuffer is a strings.Builder safe for a writer and a reader in
// different goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// startServe starts "elicence serve" in work and returns the command, its
// base URL, its standard output and its logs.
func startServe(t *testing.T, bin, work string) (*exec.Cmd, string, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", "data")
	srv.Dir = work
	srv.Env = append(os.Environ(), "ELICENCE_DEMO_TOKEN=demo-token", "ELICENCE_PASSPHRASE=", "ELICENCE_PASSPHRASE_FILE=")
	stdout := &lockedBuffer{}
	srv.Stdout = stdout
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	addr := make(chan string, 1)
	logs := &lockedBuffer{}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "elicence serve listening" {
				addr <- line.Addr
			}
		}
		close(addr)
	}()
	var base string
	select {
	case base = <-addr:
	case <-time.After(2 * time.Minute):
	}
	if base == "" {
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	// Standard output comes through its own pipe: wait for its last line.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "operations") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return srv, base, stdout, logs
}

// stopServe sends SIGTERM and expects a clean exit.
func stopServe(t *testing.T, srv *exec.Cmd, logs *lockedBuffer) {
	t.Helper()
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
}
