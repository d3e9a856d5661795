package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"elicence/internal/testenv"
)

// readmeBlock returns the sh block that follows the first line of README.md
// starting with marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("README.md has no %q", marker)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("no ```sh block after %q", marker)
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("the ```sh block does not end")
	}
	return block
}

// TestREADMEFirstScreen holds the README's first screen to its two
// commands, and make run to the address it is given.
func TestREADMEFirstScreen(t *testing.T) {
	var cmds []string
	for _, l := range strings.Split(readmeBlock(t, "# elicence\n"), "\n") {
		if cmd, _, _ := strings.Cut(l, "#"); strings.TrimSpace(cmd) != "" {
			cmds = append(cmds, strings.TrimSpace(cmd))
		}
	}
	if strings.Join(cmds, "; ") != "make run; make test" {
		t.Errorf("the README's first block runs %q, want exactly make run and make test", cmds)
	}
	makeBin := testenv.RequireTool(t, "make", "make")
	out, err := exec.Command(makeBin, "-s", "-n", "-C", "../..", "run", "ADDR=127.0.0.1:9090").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ELICENCE_SERVE_ADDR='127.0.0.1:9090' go run ./cmd/elicence serve\n") {
		t.Errorf("make -n run ADDR=127.0.0.1:9090: %v\n%s", err, out)
	}
}

// TestDemoPath runs the documented demo path in the documented order,
// against real "elicence serve" processes on one data directory: a first
// run on a busy port (which must create nothing), the first screen's
// make run (a random token, shown), then the service walkthrough's
// ELICENCE_DEMO_TOKEN=demo-token make run with README.md's curl commands
// verbatim, and a last run with no token chosen. Any 401 fails it (curl
// -f under bash -e), and so does a token of an earlier run that stops
// working.
func TestDemoPath(t *testing.T) {
	testenv.SkipShort(t, "starts three servers")
	testenv.RequireTool(t, "bash", "bash")
	testenv.RequireTool(t, "curl", "curl")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // the script runs in a parallel subtest, after this function returns
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()

	walk := readmeBlock(t, "<!-- service walkthrough:")
	var lines []string
	for _, l := range strings.Split(walk, "\n") {
		if strings.Contains(l, "make run") {
			continue // the server is started by the script
		}
		l = strings.ReplaceAll(l, "http://127.0.0.1:8080", "http://"+addr)
		l = strings.ReplaceAll(l, "go run ./cmd/elicence ", "elicence ")
		lines = append(lines, l)
	}
	if !strings.Contains(walk, "ELICENCE_DEMO_TOKEN=demo-token make run") || !strings.Contains(walk, "TOKEN=demo-token") {
		t.Fatalf("the service walkthrough no longer starts with ELICENCE_DEMO_TOKEN=demo-token make run:\n%s", walk)
	}

	dir := t.TempDir()
	script, err := os.ReadFile("testdata/demo/demo.txtar")
	if err != nil {
		t.Fatal(err)
	}
	script = append(script, "-- walkthrough.sh --\n"+strings.Join(lines, "\n")...)
	if err := os.WriteFile(filepath.Join(dir, "demo.txtar"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	p := params(dir)
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		env.Setenv("ADDR", addr)
		env.Setenv("BUSY", busy.Addr().String())
		return setup(env)
	}
	p.Cmds["ready"] = cmdReady
	p.Cmds["grab"] = cmdGrab
	p.Cmds["api"] = cmdAPI
	testscript.Run(t, p)
}

// cmdReady waits until the server at base URL answers /readyz with 200.
func cmdReady(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: ready URL")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := http.Get(args[0] + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s not ready after 2 minutes: %v", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdGrab sets the environment variable NAME to the first group of the
// regular expression in the last command's standard output.
func cmdGrab(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: grab NAME REGEXP")
	}
	m := regexp.MustCompile(`(?m)` + args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("stdout does not match %q", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// cmdAPI sends a request with a bearer token and demands an HTTP status:
// api STATUS TOKEN METHOD URL [BODYFILE].
func cmdAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 || len(args) > 5 {
		ts.Fatalf("usage: api STATUS TOKEN METHOD URL [BODYFILE]")
	}
	var body *strings.Reader
	if len(args) == 5 {
		body = strings.NewReader(ts.ReadFile(args[4]))
	} else {
		body = strings.NewReader("")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, args[2], args[3], body)
	if err != nil {
		ts.Fatalf("api: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+args[1])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.Fatalf("api: %v", err)
	}
	res.Body.Close()
	if got := res.Status[:3]; got != args[0] {
		ts.Fatalf("%s %s answered %s, want %s", args[2], args[3], res.Status, args[0])
	}
}

// TestCIRunBringsUpABareMachine checks what can be checked of .ci/run
// without a bare machine: it parses, installs every package the tests need
// (and the README lists the same ones), starts or creates a PostgreSQL
// cluster with its role and database, gets Go 1.26, and runs the README's
// test command.
func TestCIRunBringsUpABareMachine(t *testing.T) {
	bash := testenv.RequireTool(t, "bash", "bash")
	if out, err := exec.Command(bash, "-n", "../../.ci/run").CombinedOutput(); err != nil {
		t.Fatalf("bash -n .ci/run: %v\n%s", err, out)
	}
	b, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	ci := string(b)
	readme := readmeBlock(t, "**What a fresh machine needs.**")
	for _, pkg := range []string{"postgresql", "gcc", "make", "curl", "git", "ca-certificates",
		"zbar-tools", "openssl", "chromium", "ffmpeg", "fonts-noto-cjk", "qpdf", "poppler-utils", "ghostscript"} {
		word := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(pkg) + `(\s|$)`)
		if !word.MatchString(ci) {
			t.Errorf(".ci/run does not install %s", pkg)
		}
		if !word.MatchString(readme) {
			t.Errorf("the README's apt-get line lacks %s", pkg)
		}
	}
	for _, want := range []string{"apt-get update", "pg_ctlcluster", "pg_createcluster", "CREATE DATABASE test",
		"CREATE ROLE", "GOTOOLCHAIN=", "golang.org/toolchain", `GO_WANT=1.26.0`, "export CI=true\nmake test\n"} {
		if !strings.Contains(ci, want) {
			t.Errorf(".ci/run lacks %q", want)
		}
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "\ngo 1.26.0\n") {
		t.Error("go.mod's go line changed: change GO_WANT in .ci/run and the README's Go version with it")
	}
}
