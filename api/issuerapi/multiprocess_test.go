package issuerapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/keys"
)

// buildBinary builds cmd/elicence into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "elicence")
	cmd := exec.Command("go", "build", "-o", bin, "elicence/cmd/elicence")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startIssuer starts "elicence issuer serve" and returns its base URL and
// the running command.
func startIssuer(t *testing.T, bin string, args []string, env []string) (string, *exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"issuer", "serve", "--addr", "127.0.0.1:0", "--log-level", "info"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "issuer listening" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return a, cmd, logs
	case <-ended:
		t.Fatalf("issuer exited; logs:\n%s", logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("issuer did not start; logs:\n%s", logs.String())
	}
	return "", nil, nil
}

// TestTwoProcesses runs two "elicence issuer serve" processes on one
// PostgreSQL database and issues through both at once: every licence gets
// its own identifier and its own status-list slot, the audit chain stays
// whole, and both processes shut down gracefully on SIGTERM.
func TestTwoProcesses(t *testing.T) {
	testenv.SkipShort(t, "builds the binary and starts two servers")
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root := issuertest.Root(t)
	svc, err := issuer.New(issuer.Config{Store: st, Passphrase: []byte(issuertest.Passphrase), Root: &root, DecryptKey: issuertest.DecryptKey})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	tokens := map[string]string{}
	if err := issuertest.Populate(ctx, svc, tokens); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPEM, err := keys.MarshalPrivateKey(root.Key, []byte(issuertest.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, keys.RootKeyFile), keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, keys.RootCertFile), keys.CertificatePEM(root.Cert.Raw), 0o644)

	bin := buildBinary(t)
	env := []string{"ELICENCE_PASSPHRASE=" + issuertest.Passphrase}
	args := []string{"--db", url, "--root-key", filepath.Join(dir, keys.RootKeyFile)}
	type server struct {
		url  string
		cmd  *exec.Cmd
		logs *syncBuffer
	}
	var servers []server
	for range 2 {
		u, cmd, logs := startIssuer(t, bin, args, env)
		servers = append(servers, server{u, cmd, logs})
	}

	const clients, perClient = 16, 25
	type issued struct{ id, slot string }
	results := make(chan issued, clients*perClient)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				base := servers[(c+i)%2].url
				body := refBusiness
				if i%2 == 1 {
					body = refDriving
				}
				req, _ := http.NewRequest("POST", base+"/v1/licences", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokens[issuertest.TokenIssuer])
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					errs <- fmt.Errorf("issue via %s: %d %s", base, res.StatusCode, b)
					return
				}
				var l licenceJSON
				json.Unmarshal(b, &l)
				results <- issued{l.ID, fmt.Sprintf("%s/%d", l.StatusList, l.StatusIndex)}
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ids, slots := map[string]bool{}, map[string]bool{}
	n := 0
	for r := range results {
		n++
		if ids[r.id] {
			t.Errorf("identifier %s issued twice", r.id)
		}
		if slots[r.slot] {
			t.Errorf("status slot %s allocated twice", r.slot)
		}
		ids[r.id], slots[r.slot] = true, true
	}
	if n != clients*perClient {
		t.Fatalf("%d licences issued, want %d", n, clients*perClient)
	}
	var stored []store.Licence
	q := store.LicenceQuery{DepartmentCode: issuertest.Dept, Limit: store.MaxPageSize}
	for {
		page, next, err := st.ListLicences(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, page...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if len(stored) != n {
		t.Errorf("%d licences stored, want %d", len(stored), n)
	}
	for _, l := range stored {
		if !ids[l.ID] {
			t.Errorf("stored licence %s was not answered to any client", l.ID)
		}
	}
	if bad, err := st.VerifyChain(ctx); err != nil {
		t.Errorf("audit chain: first bad entry %d: %v", bad, err)
	}

	// Both processes publish the same trust list content and each other's
	// status changes.
	var some licenceJSON
	for id := range ids {
		some.ID = id
		break
	}
	req, _ := http.NewRequest("POST", servers[0].url+"/v1/licences/"+some.ID+"/revoke", strings.NewReader(`{"reason":"cancelled"}`))
	req.Header.Set("Authorization", "Bearer "+tokens[issuertest.TokenIssuer])
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("revoke via the first process: %v %v", err, res.Status)
	}
	req, _ = http.NewRequest("GET", servers[1].url+"/v1/licences/"+some.ID, nil)
	req.Header.Set("Authorization", "Bearer "+tokens[issuertest.TokenReader])
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), `"status":"revoked"`) {
		t.Errorf("the second process sees %s", b)
	}

	for _, s := range servers {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("issuer exited with %v; logs:\n%s", err, s.logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("issuer did not stop within 30 s of SIGTERM")
		}
	}
}
