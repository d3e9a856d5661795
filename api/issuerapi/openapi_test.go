package issuerapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"elicence/docs"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// operation is one documented operation with its request example.
type operation struct {
	method, path string
	// examples maps a request media type to its example body.
	examples map[string]string
}

// parseOpenAPI reads the operations of docs/openapi.yaml. The document is
// written in a plain style this reader relies on: paths at two spaces of
// indent, methods at four, and request examples either as one-line JSON
// (`example: {...}`) or as a block scalar (`example: |`).
func parseOpenAPI(t *testing.T) []*operation {
	t.Helper()
	var ops []*operation
	var path, media string
	var cur *operation
	inBody := false
	var block *strings.Builder
	blockIndent := 0
	sc := bufio.NewScanner(bytes.NewReader(docs.OpenAPI))
	pathRe := regexp.MustCompile(`^  (/[^:]*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|post|put|patch|delete|head):\s*$`)
	mediaRe := regexp.MustCompile(`^\s+([a-z]+/[a-z0-9.+-]+):`)
	section := ""
	for sc.Scan() {
		line := sc.Text()
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if block != nil {
			if strings.TrimSpace(line) != "" && indent < blockIndent {
				cur.examples[media] = block.String()
				block = nil
			} else {
				if blockIndent == 0 {
					blockIndent = indent
				}
				block.WriteString(strings.TrimPrefix(line, strings.Repeat(" ", blockIndent)) + "\n")
				continue
			}
		}
		if indent == 0 && strings.HasSuffix(line, ":") {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		if section != "paths" {
			continue
		}
		if m := pathRe.FindStringSubmatch(line); m != nil {
			path, cur, inBody = m[1], nil, false
			continue
		}
		if m := methodRe.FindStringSubmatch(line); m != nil {
			cur = &operation{method: strings.ToUpper(m[1]), path: path, examples: map[string]string{}}
			ops = append(ops, cur)
			inBody = false
			continue
		}
		if cur == nil {
			continue
		}
		switch trimmed := strings.TrimSpace(line); {
		case indent == 6 && strings.HasPrefix(trimmed, "requestBody:"):
			inBody = true
		case indent == 6:
			inBody = false
		case inBody && mediaRe.MatchString(line) && indent == 10:
			media = mediaRe.FindStringSubmatch(line)[1]
		case inBody && strings.HasPrefix(trimmed, "example: |"):
			block, blockIndent = &strings.Builder{}, 0
		case inBody && strings.HasPrefix(trimmed, "example: "):
			cur.examples[media] = strings.TrimPrefix(trimmed, "example: ")
		}
	}
	if block != nil {
		cur.examples[media] = block.String()
	}
	return ops
}

// TestOpenAPIMatchesRoutes fails on any route missing from
// docs/openapi.yaml and on any documented operation that does not exist.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := New(Config{Gatherer: prometheus.NewRegistry(), Mounts: serveMounts()})
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatal("New does not return a chi router")
	}
	served := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if route == verifyPath {
			// Mounted as `elicence serve` mounts it: the verifier's
			// handler answers POST only (its own tests prove that).
			if method == http.MethodPost {
				served[method+" "+route] = true
			}
			return nil
		}
		route = strings.ReplaceAll(route, "/*", "")
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		served[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, op := range parseOpenAPI(t) {
		documented[op.method+" "+op.path] = true
	}
	if len(documented) < 30 {
		t.Fatalf("parsed only %d documented operations; is the document's layout still what parseOpenAPI expects?", len(documented))
	}
	var missing, stale []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	for _, r := range missing {
		t.Errorf("route %s is not in docs/openapi.yaml", r)
	}
	for _, r := range stale {
		t.Errorf("docs/openapi.yaml documents %s, which is not served", r)
	}
}

// TestOpenAPIExamples sends every documented request example and expects
// success. Path parameters are filled with a fresh licence (or department
// or token) and the wallet login token with one from a holder link; the
// bodies are sent as they stand, but for the login token.
func TestOpenAPIExamples(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{}, Config{})
		tok, op := e.tokens[issuertest.TokenIssuer], e.tokens[issuertest.TokenOperator]
		ops := parseOpenAPI(t)
		sent := 0
		for _, o := range ops {
			for media, ex := range o.examples {
				t.Run(o.method+" "+o.path+" "+media, func(t *testing.T) {
					if media == "application/json" && !json.Valid([]byte(ex)) {
						t.Fatalf("example is not JSON: %s", ex)
					}
					path, token, body := o.path, tok, ex
					// A fresh business licence (the reference example)
					// backs licence paths and the holder link.
					l := e.issue(refBusiness)
					switch {
					case strings.HasPrefix(path, "/v1/admin/"), strings.HasPrefix(path, "/v1/documents/signers/"):
						token = op
					case strings.HasPrefix(path, "/v1/wallet/"):
						token = e.walletSession(t, "91350100MA2Y00001H")
						if path == "/v1/wallet/session" {
							token = ""
							body = `{"login_token": "` + e.loginToken(t, "91350100MA2Y00001H") + `"}`
						}
					}
					if strings.HasSuffix(path, "/reinstate") {
						if r := e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/suspend", tok, `{"reason":"investigation"}`); r.status != 200 {
							t.Fatalf("suspend first: %d", r.status)
						}
					}
					if strings.HasPrefix(path, "/v1/admin/") && strings.HasSuffix(path, "/reissue") {
						// {id} is a retired key of a department that has an
						// active one: rotate, then name the previous key.
						if _, err := e.svc.Admin.NewDepartmentKey(t.Context(), issuer.Operator(), issuertest.Other); err != nil {
							t.Fatal(err)
						}
						ks, err := st.ListSigningKeys(t.Context(), issuertest.Other)
						if err != nil || len(ks) < 2 {
							t.Fatalf("keys of %s: %d, %v", issuertest.Other, len(ks), err)
						}
						path = strings.ReplaceAll(path, "{id}", ks[len(ks)-2].ID)
					}
					if strings.HasPrefix(path, "/v1/admin/departments/{code}/keys/{id}") {
						// {id} is a key of the department, the newest.
						ks, err := st.ListSigningKeys(t.Context(), issuertest.Other)
						if err != nil || len(ks) == 0 {
							t.Fatalf("keys of %s: %v", issuertest.Other, err)
						}
						path = strings.ReplaceAll(path, "{id}", ks[len(ks)-1].ID)
					}
					if strings.HasPrefix(path, "/v1/documents/{id}") {
						path = strings.ReplaceAll(path, "{id}", e.signText(t, "openapi example").Document.ID)
					}
					if media == "multipart/form-data" {
						// The example's boundary, and the CRLF line ends
						// of multipart bodies.
						media = "multipart/form-data; boundary=elicence-example"
						body = strings.ReplaceAll(body, "\n", "\r\n")
					}
					path = strings.ReplaceAll(path, "{id}", url.PathEscape(l.ID))
					path = strings.ReplaceAll(path, "{code}", issuertest.Other)
					r := e.req(o.method, path, token, body, "Content-Type", media)
					if r.status < 200 || r.status > 299 {
						t.Fatalf("%s %s with the documented example: %d %s", o.method, path, r.status, r.body)
					}
					if strings.Contains(path, "/batch") && !strings.Contains(string(r.body), `"rejected":0`) {
						t.Errorf("batch example rejected rows: %s", r.body)
					}
				})
				sent++
			}
		}
		if sent < 12 {
			t.Errorf("sent only %d examples", sent)
		}
	})
}

// loginToken makes a holder link and returns its one-time token.
func (e *env) loginToken(t testing.TB, holder string) string {
	t.Helper()
	r := e.req("POST", "/v1/holder-links", e.tokens[issuertest.TokenIssuer], `{"holder_id":"`+holder+`"}`)
	var link issuer.HolderLink
	r.json(t, &link)
	if r.status != 201 || !strings.HasPrefix(link.URL, "/wallet#login=") {
		t.Fatalf("holder link: %d %s", r.status, r.body)
	}
	return strings.TrimPrefix(link.URL, "/wallet#login=")
}

// walletSession logs the holder in and returns the session token.
func (e *env) walletSession(t testing.TB, holder string) string {
	t.Helper()
	r := e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+e.loginToken(t, holder)+`"}`)
	var s issuer.WalletSession
	r.json(t, &s)
	if r.status != 200 || s.Session == "" {
		t.Fatalf("wallet session: %d %s", r.status, r.body)
	}
	return s.Session
}
