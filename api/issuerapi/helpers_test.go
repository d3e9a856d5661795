package issuerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"elicence/api/verifierapi"
	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/verifier"
)

// Reference requests: they issue as they stand.
const (
	refBusiness = `{"type": "11100000MB0000001T001", "holder_name": "福州示例科技有限公司", "holder_id": "91350100MA2Y00001H", "valid_from": "2024-03-01", "fields": {"lr": "张三", "ra": "福建省福州市鼓楼区示例路1号", "et": "有限责任公司", "rc": "100万元人民币"}}`
	refDriving  = `{"type": "11110000MB00000048001", "holder_name": "李四", "holder_id": "350102199003071234", "valid_from": "2024-01-15", "fields": {"cc": "C1", "fi": "2012-01-15"}}`
	citizenID   = "350102199003071234"
)

// env is an issuer API on a real store behind an httptest server.
type env struct {
	t      testing.TB
	f      *issuertest.Fixture
	svc    *issuer.Service
	srv    *httptest.Server
	reg    *prometheus.Registry
	logs   *syncBuffer
	tokens map[string]string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv sets up a fixture on st and serves the API; scfg and acfg may
// override service and API settings.
func newEnv(t testing.TB, st store.Store, scfg issuer.Config, acfg Config) *env {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	reg := prometheus.NewRegistry()
	scfg.Logger, scfg.Registry = logger, reg
	if scfg.Publication.PublicURL == "" {
		scfg.Publication.PublicURL = "http://issuer.test"
	}
	f := issuertest.New(t, st, scfg)
	acfg.Service, acfg.Logger, acfg.Registry, acfg.Gatherer = f.Service, logger, reg, reg
	acfg.Mounts = append(acfg.Mounts, serveMounts()...)
	srv := httptest.NewServer(New(acfg))
	t.Cleanup(srv.Close)
	return &env{t: t, f: f, svc: f.Service, srv: srv, reg: reg, logs: logs, tokens: f.Tokens}
}

// forEachBackend runs fn once per store backend, as a subtest.
func forEachBackend(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range issuertest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d answer %q: %v", r.status, r.body, err)
	}
}

// problem decodes a problem-details answer.
func (r resp) problem(t testing.TB) problemDoc {
	t.Helper()
	var p problemDoc
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.body)
	}
	r.json(t, &p)
	return p
}

type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

// req sends a request; body may be a string (sent as is), []byte, nil or
// a value encoded as JSON. hdr are header name/value pairs.
func (e *env) req(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// issue issues a licence with the issuer token and returns it.
func (e *env) issue(body string) licenceJSON {
	e.t.Helper()
	r := e.req("POST", "/v1/licences", e.tokens[issuertest.TokenIssuer], body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("issue: %d %s", r.status, r.body)
	}
	var l licenceJSON
	r.json(e.t, &l)
	return l
}

// verifyConfig is a verifier configuration that fetches the trust list
// and status lists from the API over HTTP.
func (e *env) verifyConfig() verifier.Config {
	root := &e.f.Root.Key.PublicKey
	return verifier.Config{
		Trust: func(ctx context.Context) (*verifier.Trust, error) {
			r := e.req("GET", "/v1/trust-list", "", nil)
			if r.status != 200 {
				return nil, io.ErrUnexpectedEOF
			}
			return verifier.NewTrust(root, r.body, time.Now())
		},
		Status: func(ctx context.Context, trust *verifier.Trust, dept *format.Department, list string) (*verifier.Status, error) {
			r := e.req("GET", "/v1/status/"+list, "", nil)
			if r.status != 200 {
				return nil, io.ErrUnexpectedEOF
			}
			return verifier.NewStatus(trust, r.body, time.Now(), "http")
		},
		Department: issuertest.Other,
	}
}

// snapshot is every stored row the bad-request table could change: the
// audit chain (every change appends to it), the licences and the status
// lists of both departments, and the tokens.
type snapshot struct {
	audit    []store.AuditEntry
	licences []store.Licence
	lists    []store.StatusList
	tokens   []store.Token
}

func takeSnapshot(t testing.TB, st store.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	for after := int64(0); ; {
		es, err := st.ListAudit(ctx, after, store.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		s.audit = append(s.audit, es...)
		if len(es) < store.MaxPageSize {
			break
		}
		after = es[len(es)-1].Seq
	}
	for _, d := range []string{issuertest.Dept, issuertest.Other, ""} {
		ts, err := st.ListTokens(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens = append(s.tokens, ts...)
		if d == "" {
			continue
		}
		q := store.LicenceQuery{DepartmentCode: d, Limit: store.MaxPageSize}
		for {
			page, next, err := st.ListLicences(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			s.licences = append(s.licences, page...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		ls, err := st.ListStatusLists(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		s.lists = append(s.lists, ls...)
	}
	return s
}

// verifyPath is where `elicence serve` mounts the verifier.
const verifyPath = "/v1/verify"

// serveMounts mounts the verifier's POST /v1/verify as `elicence serve`
// does, so that docs/openapi.yaml, which documents it, is held to it. This
// verifier has no trust source: it answers every QR text 200 INDETERMINATE
// TRY_LATER, which is all these tests need of it (the verifier's own tests
// and e2e prove the verdicts).
func serveMounts() []Mount {
	noTrust := func(context.Context) (*verifier.Trust, error) {
		return nil, errors.New("no trust list in this test")
	}
	return []Mount{{Pattern: verifyPath, Handler: verifierapi.NewHandler(verifierapi.Config{
		Verify: verifier.Config{Trust: noTrust},
	})}}
}
