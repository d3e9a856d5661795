// Package e2e runs elicence as its users do: separate issuer and verifier
// processes of the real binary, talking HTTP. TestMain builds the binary
// once; each test starts the processes it needs.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the elicence binary built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "elicence-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "elicence")
	build := exec.Command("go", "build", "-o", binary, "elicence/cmd/elicence")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build elicence:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running elicence process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer // stdout and stderr, interleaved
	lines  chan string
	done   chan struct{}
	exited error
}

// start runs elicence with args and extra environment variables; the
// process is stopped when the test ends.
func start(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, lines: make(chan string, 4096), done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		p.mu.Lock()
		p.exited = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// await returns the first submatch of re in the process's output, waiting
// at most d.
func (p *proc) await(t testing.TB, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l := <-p.lines:
			if m := re.FindStringSubmatch(l); m != nil {
				if len(m) > 1 {
					return m[1]
				}
				return m[0]
			}
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %s:\n%s", p.name, p.exited, re, p.output())
		case <-timer.C:
			t.Fatalf("%s did not print %s within %s:\n%s", p.name, re, d, p.output())
		}
	}
}

// stop sends SIGTERM and waits for a graceful exit, killing after 10 s.
func (p *proc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 10 s of SIGTERM", p.name)
	}
}

// rss returns the process's resident set size and its peak, in bytes.
func (p *proc) rss(t testing.TB) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var n int64
		if _, err := fmt.Sscanf(l, "VmRSS: %d kB", &n); err == nil {
			rss = n << 10
		}
		if _, err := fmt.Sscanf(l, "VmHWM: %d kB", &n); err == nil {
			peak = n << 10
		}
	}
	return rss, peak
}

// listenAddr matches the address a service logs when it listens.
var listenAddr = regexp.MustCompile(`"msg":"[a-z ]*listening","addr":"(http://[^"]+)"`)

// waitReady polls base+"/readyz" until it answers 200.
func waitReady(t testing.TB, base string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s (last: %v)", base, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// report is the part of a verification report the tests look at.
type report struct {
	Indication    string `json:"indication"`
	SubIndication string `json:"sub_indication"`
	Reason        string `json:"reason"`
	Kind          string `json:"kind"`
	Licence       *struct {
		ID         string `json:"id"`
		HolderName string `json:"holder_name"`
	} `json:"licence"`
	Status *struct {
		Value      string `json:"value"`
		AgeSeconds int64  `json:"age_seconds"`
		Source     string `json:"source"`
	} `json:"status"`
	IssuerInfo *struct {
		Code  string `json:"code"`
		KeyID string `json:"key_id"`
	} `json:"issuer"`
	Annotation *struct {
		RelyingDepartment string `json:"relying_department"`
		Purpose           string `json:"purpose"`
	} `json:"annotation"`
}

func (r *report) verdict() string {
	if r.SubIndication == "" {
		return r.Indication
	}
	return r.Indication + "/" + r.SubIndication
}

// verify posts text to a verifier and returns the report.
func verify(t testing.TB, base, text string) *report {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"qr_text": text})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/verify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verify: %d %s", resp.StatusCode, b)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("verify: %v: %s", err, b)
	}
	return &r
}
