package verifierapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"elicence/api/verifierapi"
	"elicence/docs"
	"elicence/internal/vectors"
	"elicence/keys"
	"elicence/verifier"
	"elicence/verifier/verifiertest"
)

const vectorDir = "../../testdata/vectors"

// vectorService is a verifier reading the test vectors' trust and status
// lists as an offline bundle, on a clock the test sets.
type vectorService struct {
	clock *verifiertest.Clock
	cache *verifier.Cache
}

func newVectorService(t *testing.T, vs []*vectors.Vector) *vectorService {
	t.Helper()
	rootPEM, err := os.ReadFile(filepath.Join(vectorDir, "keys", keys.RootCertFile))
	if err != nil {
		t.Fatal(err)
	}
	root, err := keys.ParsePublicKey(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	// Every vector names the same trust list; copy it and the status lists
	// into a bundle directory.
	dir := t.TempDir()
	trust, err := os.ReadFile(filepath.Join(vectorDir, vs[0].Trust))
	if err != nil {
		t.Fatal(err)
	}
	var lists [][]byte
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Trust != vs[0].Trust {
			t.Fatalf("vector %s uses trust list %s, not %s", v.Name, v.Trust, vs[0].Trust)
		}
		for _, s := range v.Status {
			if !seen[s] {
				seen[s] = true
				b, err := os.ReadFile(filepath.Join(vectorDir, s))
				if err != nil {
					t.Fatal(err)
				}
				lists = append(lists, b)
			}
		}
	}
	if err := verifier.WriteBundle(dir, trust, lists...); err != nil {
		t.Fatal(err)
	}
	s := &vectorService{clock: verifiertest.NewClock(vs[0].Now)}
	s.cache, err = verifier.New(context.Background(), verifier.FetchConfig{
		Root: root, Trust: filepath.Join(dir, verifier.BundleTrustFile), StatusDir: filepath.Join(dir, verifier.BundleStatusDir),
		Now: s.clock.Now, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cache.Close)
	return s
}

// server returns a verifier server acting for dept.
func (s *vectorService) server(t *testing.T, dept string) *httptest.Server {
	srv := httptest.NewServer(verifierapi.New(verifierapi.Config{
		Verify: verifier.Config{Trust: s.cache.Trust, Status: s.cache.Status, Now: s.clock.Now, Department: dept},
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestVectorsThroughService sends every shared test vector to the verifier
// service, reading the vectors' lists as an offline bundle, and expects the
// vector's verdict.
func TestVectorsThroughService(t *testing.T) {
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 30 {
		t.Fatalf("only %d vectors", len(vs))
	}
	// One service per trust list the vectors name (version 1 and 2).
	services := map[string]*vectorService{}
	for _, v := range vs {
		if services[v.Trust] == nil {
			var same []*vectors.Vector
			for _, w := range vs {
				if w.Trust == v.Trust {
					same = append(same, w)
				}
			}
			services[v.Trust] = newVectorService(t, same)
		}
	}
	for _, v := range vs {
		s := services[v.Trust]
		t.Run(v.Name, func(t *testing.T) {
			s.clock.Set(v.Now)
			srv := s.server(t, v.Department)
			body, _ := json.Marshal(map[string]string{"qr_text": v.Text})
			resp, err := http.Post(srv.URL+"/v1/verify", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := report(t, resp, b)
			if string(r.Indication) != v.Indication || string(r.SubIndication) != v.SubIndication {
				t.Fatalf("%s/%s (%s), want %s/%s (%s)", r.Indication, r.SubIndication, r.Reason, v.Indication, v.SubIndication, v.Comment)
			}
		})
	}
}

// documentedOps reads the "path method" pairs and the request examples of
// docs/verifier-openapi.yaml, written in the same plain layout as the
// issuer's document: paths at two spaces, methods at four, one-line JSON
// examples.
func documentedOps(t *testing.T) (ops map[string]bool, examples map[string]string) {
	ops, examples = map[string]bool{}, map[string]string{}
	pathRe := regexp.MustCompile(`^  (/[^:]*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|post|put|patch|delete):\s*$`)
	var path, op string
	inPaths := false
	sc := bufio.NewScanner(bytes.NewReader(docs.VerifierOpenAPI))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			inPaths = line == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		if m := pathRe.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := methodRe.FindStringSubmatch(line); m != nil {
			op = strings.ToUpper(m[1]) + " " + path
			ops[op] = true
		} else if ex, ok := strings.CutPrefix(strings.TrimSpace(line), "example: "); ok {
			examples[op] = ex
		}
	}
	return ops, examples
}

// TestOpenAPIMatchesRoutes holds docs/verifier-openapi.yaml to the routes
// of the stand-alone verifier, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	documented, _ := documentedOps(t)
	if len(documented) < 5 {
		t.Fatalf("parsed only %d operations", len(documented))
	}
	h := verifierapi.New(verifierapi.Config{Gatherer: nil})
	served := map[string]bool{}
	if err := chi.Walk(h.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served[method+" "+route] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	served["GET /metrics"] = true // served when a Gatherer is configured
	for op := range served {
		if !documented[op] {
			t.Errorf("route %s is not in docs/verifier-openapi.yaml", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("docs/verifier-openapi.yaml documents %s, which is not served", op)
		}
	}
	resp, err := http.Get(httptest.NewServer(h).URL + "/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, docs.VerifierOpenAPI) {
		t.Fatalf("GET /v1/openapi.yaml: %d, %d bytes", resp.StatusCode, len(b))
	}
}

// TestOpenAPIExample sends the documented example as it stands to a
// verifier with the vectors' trust at the vectors' time: it passes.
func TestOpenAPIExample(t *testing.T) {
	_, examples := documentedOps(t)
	ex, ok := examples["POST /v1/verify"]
	if !ok {
		t.Fatal("POST /v1/verify has no example")
	}
	srv := exampleServer(t)
	resp, err := http.Post(srv.URL+"/v1/verify", "application/json", strings.NewReader(ex))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want(t, report(t, resp, b), verifier.Passed, "")
}

// exampleServer serves a verifier with the version-1 vectors' trust (the
// documented examples are version-1 texts), at credential_valid's time.
func exampleServer(t *testing.T) *httptest.Server {
	t.Helper()
	vs, err := vectors.Load(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	var v1 []*vectors.Vector
	for _, v := range vs {
		if v.Trust == "trust.cbor" {
			v1 = append(v1, v)
		}
	}
	s := newVectorService(t, v1)
	for _, v := range vs {
		if v.Name == "credential_valid" {
			s.clock.Set(v.Now)
		}
	}
	return s.server(t, "")
}
