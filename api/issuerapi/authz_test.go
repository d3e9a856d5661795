package issuerapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/tlog"
)

// caller is a column of the authorisation matrix: who sends the request.
type caller int

const (
	callerNone        caller = iota // no Authorization header
	callerMalformed                 // a bearer value that is no token
	callerRevoked                   // a revoked department token that had every scope
	callerNoIssue                   // the department, every scope but issue
	callerNoRevoke                  // the department, every scope but revoke
	callerNoRead                    // the department, every scope but read
	callerOtherDept                 // another department, every scope
	callerOperator                  // the trust-list operator
	callerOtherHolder               // a wallet session of another holder (the department's link)
	callerOtherLink                 // the same holder's wallet session, opened by another department's link
	callerRight                     // the caller the route is for (see authzRow.right)
	numCallers
)

var callerNames = [numCallers]string{
	"no token", "malformed token", "revoked token", "missing scope issue", "missing scope revoke",
	"missing scope read", "another department", "operator", "wallet session of another holder",
	"wallet session from another department's link", "the right caller",
}

// audience is who a route is for: what the callerRight column sends.
type audience int

const (
	public   audience = iota // no credentials
	dept                     // the department's token with every department scope
	operator                 // the operator's token
	holder                   // the holder's wallet session, opened by the department's link
)

// authzRow is a row of the matrix: a route as chi.Walk names it, who it is
// for, the request body (placeholders filled per cell, see authzEnv.build)
// and the status each caller must get.
type authzRow struct {
	route string
	right audience
	body  string
	want  [numCallers]int
	// names is set where the right caller's answer names the cell's
	// licence, which shows that an outsider's answer not naming it means
	// something.
	names bool
}

// freshSession lists the routes that end or rotate the session they are
// sent with: each wallet-session column gets a new session for the cell.
var freshSession = map[string]bool{"POST /v1/wallet/session/refresh": true, "DELETE /v1/wallet/session": true}

// authzMatrix is the authorisation matrix of every route of the issuer
// router. Every cell is sent on fresh objects (a new licence, department,
// key or token per cell), so that a success changes nothing another cell
// sees. Columns, in order:
//
//	none  malformed  revoked  -issue  -revoke  -read  other-dept  operator  other-holder  other-link  right
var authzMatrix = []authzRow{
	// Operations and publication: public; a credential, good or bad, is ignored.
	{"GET /healthz", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /readyz", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /metrics", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/openapi.yaml", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/trust-list", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/status/{list}", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/keys/{file}", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/licence-types", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/departments", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/events", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"POST /v1/verify", public, `{"qr_text": "LC1:NOT-A-LICENCE"}`, [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	// The issuance log: public, static.
	{"GET /tlog/{dept}/checkpoint", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /tlog/{dept}/checkpoint/{size}", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /tlog/{dept}/lookup/{hash}", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /tlog/{dept}/tile/*", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"HEAD /tlog/{dept}/checkpoint", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"HEAD /tlog/{dept}/checkpoint/{size}", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"HEAD /tlog/{dept}/lookup/{hash}", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"HEAD /tlog/{dept}/tile/*", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},

	// Licences: department tokens, each action its scope; another
	// department's licence is 404; the operator and wallet sessions are
	// not departments.
	{"POST /v1/licences/", dept, refBusiness, [numCallers]int{401, 401, 401, 403, 201, 201, 403, 403, 401, 401, 201}, false},
	{"GET /v1/licences/", dept, "", [numCallers]int{401, 401, 401, 200, 200, 403, 200, 403, 401, 401, 200}, true},
	{"POST /v1/licences/batch", dept, refBusiness + "\n", [numCallers]int{401, 401, 401, 403, 200, 200, 200, 403, 401, 401, 200}, false},
	{"GET /v1/licences/{id}", dept, "", [numCallers]int{401, 401, 401, 200, 200, 403, 404, 403, 401, 401, 200}, true},
	{"GET /v1/licences/{id}/qr.png", dept, "", [numCallers]int{401, 401, 401, 200, 200, 403, 404, 403, 401, 401, 200}, false},
	{"GET /v1/licences/{id}/qr.svg", dept, "", [numCallers]int{401, 401, 401, 200, 200, 403, 404, 403, 401, 401, 200}, false},
	{"POST /v1/licences/{id}/revoke", dept, `{"reason": "cancelled"}`, [numCallers]int{401, 401, 401, 200, 403, 200, 404, 403, 401, 401, 200}, true},
	{"POST /v1/licences/{id}/suspend", dept, `{"reason": "investigation"}`, [numCallers]int{401, 401, 401, 200, 403, 200, 404, 403, 401, 401, 200}, true},
	{"POST /v1/licences/{id}/reinstate", dept, `{}`, [numCallers]int{401, 401, 401, 200, 403, 200, 404, 403, 401, 401, 200}, true},
	{"POST /v1/licences/{id}/reissue", dept, `{}`, [numCallers]int{401, 401, 401, 403, 403, 201, 404, 403, 401, 401, 201}, true},
	{"POST /v1/licences/{id}/presentations", dept, "", [numCallers]int{401, 401, 401, 403, 201, 201, 404, 403, 401, 401, 201}, false},
	{"POST /v1/licences/{id}/annotated-copies", dept, annotationBody, [numCallers]int{401, 401, 401, 403, 201, 201, 404, 403, 401, 401, 201}, false},
	{"POST /v1/holder-links", dept, `{"holder_id": "91350100MA2Y00001H"}`, [numCallers]int{401, 401, 401, 403, 201, 201, 404, 403, 401, 401, 201}, false},
	{"GET /v1/audit", dept, "", [numCallers]int{401, 401, 401, 200, 200, 403, 200, 200, 401, 401, 200}, false},

	// Documents: department tokens, as licences; every department may
	// sign its own, another department's document is 404.
	{"POST /v1/documents/", dept, "{multipart}", [numCallers]int{401, 401, 401, 403, 201, 201, 201, 403, 401, 401, 201}, false},
	{"GET /v1/documents/{id}", dept, "", [numCallers]int{401, 401, 401, 200, 200, 403, 404, 403, 401, 401, 200}, true},
	{"POST /v1/documents/{id}/rescind", dept, `{"reason": "withdrawn"}`, [numCallers]int{401, 401, 401, 200, 403, 200, 404, 403, 401, 401, 200}, true},
	// Which departments may sign documents: the operator only.
	{"POST /v1/documents/signers/{code}", operator, `{"allowed": true}`, [numCallers]int{401, 401, 401, 403, 403, 403, 403, 200, 401, 401, 200}, false},

	// The wallet: sessions only; an API token is no session. A session
	// reaches its holder's licences of the department whose link opened it.
	{"POST /v1/wallet/session", public, `{"login_token": "{login}"}`, [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/wallet/licences", holder, "", [numCallers]int{401, 401, 401, 401, 401, 401, 401, 401, 200, 200, 200}, true},
	{"POST /v1/wallet/licences/{id}/presentations", holder, "", [numCallers]int{401, 401, 401, 401, 401, 401, 401, 401, 404, 404, 201}, false},
	{"POST /v1/wallet/licences/{id}/annotated-copies", holder, annotationBody, [numCallers]int{401, 401, 401, 401, 401, 401, 401, 401, 404, 404, 201}, false},
	// A session refreshes or ends itself, whichever link opened it.
	{"POST /v1/wallet/session/refresh", holder, "", [numCallers]int{401, 401, 401, 401, 401, 401, 401, 401, 200, 200, 200}, false},
	{"DELETE /v1/wallet/session", holder, "", [numCallers]int{401, 401, 401, 401, 401, 401, 401, 401, 204, 204, 204}, false},
	// Sign-in options are public; without an identity provider configured
	// its routes are 404 (the OpenID Connect flow is tested in oidc_test.go).
	{"GET /v1/wallet/sign-in", public, "", [numCallers]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, false},
	{"GET /v1/wallet/oidc/login", public, "", [numCallers]int{404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404}, false},
	{"GET /v1/wallet/oidc/callback", public, "", [numCallers]int{404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404}, false},

	// Administration: the operator only.
	{"POST /v1/admin/departments", operator, `{"code": "{newdept}", "name": "矩阵测试部门", "types": ["11100000MB0000001T002"]}`, [numCallers]int{401, 401, 401, 403, 403, 403, 403, 201, 401, 401, 201}, false},
	{"POST /v1/admin/departments/{code}/keys", operator, "", [numCallers]int{401, 401, 401, 403, 403, 403, 403, 201, 401, 401, 201}, false},
	{"POST /v1/admin/departments/{code}/keys/{id}/reissue", operator, "", [numCallers]int{401, 401, 401, 403, 403, 403, 403, 200, 401, 401, 200}, false},
	{"POST /v1/admin/departments/{code}/keys/{id}/state", operator, `{"state": "retired"}`, [numCallers]int{401, 401, 401, 403, 403, 403, 403, 200, 401, 401, 200}, false},
	{"POST /v1/admin/departments/{code}/types", operator, `{"type": "11100000MB0000001T002"}`, [numCallers]int{401, 401, 401, 403, 403, 403, 403, 201, 401, 401, 201}, false},
	{"POST /v1/admin/licence-types", operator, `{"code": "{newtype}", "name": "矩阵测试证", "authority": "测试", "holder_kind": "uscc"}`, [numCallers]int{401, 401, 401, 403, 403, 403, 403, 201, 401, 401, 201}, false},
	{"GET /v1/admin/tokens", operator, "", [numCallers]int{401, 401, 401, 403, 403, 403, 403, 200, 401, 401, 200}, false},
	{"POST /v1/admin/tokens", operator, `{"department": "11350100MB00000012", "scopes": ["read"], "name": "矩阵"}`, [numCallers]int{401, 401, 401, 403, 403, 403, 403, 201, 401, 401, 201}, false},
	{"POST /v1/admin/tokens/{id}/revoke", operator, "", [numCallers]int{401, 401, 401, 403, 403, 403, 403, 200, 401, 401, 200}, false},
}

const annotationBody = `{"relying_department": "11350100MB00000025", "purpose": "核验", "expires_in_days": 7}`

// authzEnv is an API with a credential for every column.
type authzEnv struct {
	*env
	cred [numCallers]string
	n    int // counts fresh objects
}

// TestAuthorisationMatrix sends every route of the issuer router (walked
// from the real router, so that a route without a row fails) as every
// caller, and demands each cell's status. A success is sent on fresh
// objects, so the right caller's 2xx proves the request itself is good
// and a refusal is the caller's. A 2xx to anyone outside the department
// (no or bad credentials, another department, another holder, a session
// opened by another department) must not name the target licence, and
// every refusal is a problem document. It runs on both store backends.
func TestAuthorisationMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := &authzEnv{env: logEnv(t, st)}
		ctx := context.Background()
		op := issuer.Operator()

		// Routes walked from the router, and rows for them.
		walked := map[string]bool{}
		err := chi.Walk(e.srv.Config.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if route == verifyPath && method != http.MethodPost {
				return nil // the verifier's handler answers POST only; its own tests prove that
			}
			walked[method+" "+route] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]bool{}
		for _, r := range authzMatrix {
			if rows[r.route] {
				t.Errorf("route %s has two rows", r.route)
			}
			for c, want := range r.want {
				if want < 100 || want > 599 {
					t.Errorf("route %s has no status for the caller %q", r.route, callerNames[c])
				}
			}
			rows[r.route] = true
			if !walked[r.route] {
				t.Errorf("the matrix has a row for %s, which the router does not serve", r.route)
			}
		}
		var missing []string
		for r := range walked {
			if !rows[r] {
				missing = append(missing, r)
			}
		}
		sort.Strings(missing)
		for _, r := range missing {
			t.Errorf("route %s has no row in the authorisation matrix: add one with every caller's expected status", r)
		}
		if len(walked) < 35 {
			t.Fatalf("walked only %d routes", len(walked))
		}

		// Credentials.
		token := func(id string, scopes ...store.Scope) string {
			_, secret, err := e.svc.Admin.CreateToken(ctx, op, issuer.TokenRequest{ID: id, Department: issuertest.Dept, Scopes: scopes, Name: id})
			if err != nil {
				t.Fatal(err)
			}
			return secret
		}
		e.cred[callerMalformed] = "not a token, just words"
		e.cred[callerRevoked] = token("matrix-revoked", store.ScopeIssue, store.ScopeRevoke, store.ScopeRead)
		if _, err := e.svc.Admin.RevokeToken(ctx, op, "matrix-revoked"); err != nil {
			t.Fatal(err)
		}
		e.cred[callerNoIssue] = token("matrix-no-issue", store.ScopeRevoke, store.ScopeRead)
		e.cred[callerNoRevoke] = token("matrix-no-revoke", store.ScopeIssue, store.ScopeRead)
		e.cred[callerNoRead] = token("matrix-no-read", store.ScopeIssue, store.ScopeRevoke)
		e.cred[callerOtherDept] = e.tokens[issuertest.TokenOther]
		e.cred[callerOperator] = e.tokens[issuertest.TokenOperator]

		// The holder (citizenID) has licences of both departments; another
		// holder has one of the department's; the business licence's holder
		// (for holder links) has one of the department's only.
		e.issue(refBusiness)
		e.issue(refDriving)
		e.issue(strings.Replace(refDriving, citizenID, otherCitizen, 1))
		if r := e.req("POST", "/v1/licences", e.tokens[issuertest.TokenOther], refDriving); r.status != 201 {
			t.Fatalf("other department issues to the holder: %d %s", r.status, r.body)
		}
		holderSession := e.walletSession(t, citizenID)
		e.cred[callerOtherHolder] = e.walletSession(t, otherCitizen)
		e.cred[callerOtherLink] = e.sessionVia(t, issuertest.TokenOther, citizenID)
		rightOf := map[audience]string{public: "", dept: e.tokens[issuertest.TokenIssuer], operator: e.tokens[issuertest.TokenOperator], holder: holderSession}

		for _, row := range authzMatrix {
			if !walked[row.route] {
				continue
			}
			for c := caller(0); c < numCallers; c++ {
				t.Run(row.route+"/"+callerNames[c], func(t *testing.T) {
					cred := e.cred[c]
					if c == callerRight {
						cred = rightOf[row.right]
					}
					if freshSession[row.route] {
						switch c {
						case callerRight:
							cred = e.walletSession(t, citizenID)
						case callerOtherHolder:
							cred = e.walletSession(t, otherCitizen)
						case callerOtherLink:
							cred = e.sessionVia(t, issuertest.TokenOther, citizenID)
						}
					}
					rq := e.build(t, row)
					status, hdr, body := e.send(t, rq, cred)
					if status != row.want[c] {
						t.Fatalf("%s %s as %s: status %d, want %d; body %.300s", rq.method, rq.path, callerNames[c], status, row.want[c], body)
					}
					if status >= 400 && hdr.Get("Content-Type") != "application/problem+json" {
						t.Errorf("%d answered as %q, want application/problem+json", status, hdr.Get("Content-Type"))
					}
					if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("401 without WWW-Authenticate: Bearer")
					}
					if c == callerRight && row.names && !strings.Contains(body, rq.target) {
						t.Errorf("%s %s as the right caller does not name the licence %s: %.300s", rq.method, rq.path, rq.target, body)
					}
					outsider := c == callerNone || c == callerMalformed || c == callerRevoked || c == callerOtherDept || c == callerOtherHolder || c == callerOtherLink
					if outsider && status < 300 && rq.target != "" && strings.Contains(body, rq.target) {
						t.Errorf("%s %s as %s answers %d naming the department's licence %s", rq.method, rq.path, callerNames[c], status, rq.target)
					}
				})
			}
		}

	})
}

// otherCitizen is a second holder's citizen ID number.
const otherCitizen = "11010519491231002X"

// authzReq is one cell's request.
type authzReq struct {
	method, path, body, contentType string
	// target is the department's licence the cell is about, which no
	// outsider may see.
	target string
}

// build makes a cell's request on fresh objects: a new licence of the
// department for the holder (suspended for a reinstatement) behind every
// row; a new department for {code}, its key for {id} under keys, a new
// token for {id} under tokens; and the body's placeholders filled.
func (e *authzEnv) build(t *testing.T, row authzRow) authzReq {
	t.Helper()
	ctx := context.Background()
	op := issuer.Operator()
	e.n++
	method, path, _ := strings.Cut(row.route, " ")
	rq := authzReq{method: method, body: row.body, contentType: "application/json"}
	l := e.issue(refDriving)
	rq.target = l.ID
	if strings.HasSuffix(path, "/reinstate") {
		if r := e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/suspend", e.tokens[issuertest.TokenIssuer], `{"reason":"investigation"}`); r.status != 200 {
			t.Fatalf("suspend first: %d %s", r.status, r.body)
		}
	}
	if strings.Contains(path, "{code}") {
		code := fmt.Sprintf("MATRIX%06d", e.n)
		if _, _, err := e.svc.Admin.CreateDepartment(ctx, op, issuer.DepartmentRequest{Code: code, Name: "矩阵测试部门"}); err != nil {
			t.Fatal(err)
		}
		path = strings.ReplaceAll(path, "{code}", code)
		if strings.Contains(path, "/keys/{id}") {
			ks, err := e.f.Store.ListSigningKeys(ctx, code)
			if err != nil || len(ks) == 0 {
				t.Fatalf("keys of %s: %v", code, err)
			}
			if strings.HasSuffix(path, "/reissue") {
				// Only a key that is no longer active has licences to re-issue.
				if _, err := e.svc.Admin.NewDepartmentKey(ctx, op, code); err != nil {
					t.Fatal(err)
				}
			}
			path = strings.ReplaceAll(path, "{id}", ks[0].ID)
		}
	}
	if strings.HasPrefix(path, "/v1/admin/tokens/{id}") {
		id := fmt.Sprintf("matrix-%d", e.n)
		if _, _, err := e.svc.Admin.CreateToken(ctx, op, issuer.TokenRequest{ID: id, Department: issuertest.Dept, Scopes: []store.Scope{store.ScopeRead}, Name: id}); err != nil {
			t.Fatal(err)
		}
		path = strings.ReplaceAll(path, "{id}", id)
	}
	if strings.HasPrefix(path, "/v1/documents/{id}") {
		// A fresh document of the department behind the row.
		sd, err := e.svc.Documents.Sign(ctx, &issuer.Principal{TokenID: "matrix", Department: issuertest.Dept, Scopes: []store.Scope{store.ScopeIssue}},
			issuer.SignRequest{Title: "矩阵测试文件", Content: []byte(fmt.Sprintf("matrix document %d", e.n))}, "")
		if err != nil {
			t.Fatal(err)
		}
		rq.target = sd.Document.ID
		path = strings.ReplaceAll(path, "{id}", sd.Document.ID)
	}
	if rq.body == "{multipart}" {
		rq.body, rq.contentType = multipartBody(t, map[string]string{"title": "矩阵测试文件"}, "file", "notice.txt", []byte(fmt.Sprintf("matrix upload %d", e.n)))
	}
	if strings.HasPrefix(path, "/tlog/") {
		// The department's log, checkpointed with the cell's licence.
		if err := e.svc.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		origin, err := e.svc.Log.Origin(ctx, issuertest.Dept)
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.f.Store.LogState(ctx, origin)
		if err != nil {
			t.Fatal(err)
		}
		q, err := format.ParseQR(l.QRText)
		if err != nil {
			t.Fatal(err)
		}
		width := uint8(0)
		if st.Size < tlog.TileWidth {
			width = uint8(st.Size)
		}
		path = strings.ReplaceAll(path, "{dept}", issuertest.Dept)
		path = strings.ReplaceAll(path, "{size}", fmt.Sprint(st.Size))
		path = strings.ReplaceAll(path, "{hash}", hex.EncodeToString(tlog.NewLeaf(tlog.KindCredential, q.Envelope).Hash()))
		path = strings.ReplaceAll(path, "tile/*", tlog.TilePath(0, 0, width))
	}
	path = strings.ReplaceAll(path, "{id}", url.PathEscape(l.ID))
	path = strings.ReplaceAll(path, "{list}", l.StatusList)
	path = strings.ReplaceAll(path, "{file}", "root.crt")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	rq.path = path
	rq.body = strings.ReplaceAll(rq.body, "{newdept}", fmt.Sprintf("MATRIXNEW%06d", e.n))
	rq.body = strings.ReplaceAll(rq.body, "{newtype}", fmt.Sprintf("11100000MB0000001T%03d", 100+e.n%900))
	if strings.Contains(rq.body, "{login}") {
		rq.body = strings.ReplaceAll(rq.body, "{login}", e.loginToken(t, citizenID))
	}
	if strings.HasSuffix(path, "/batch") {
		rq.contentType = "application/x-ndjson"
	}
	return rq
}

// send sends rq with bearer cred ("" sends none) and returns the status,
// the header and the body; an event stream's body is not read.
func (e *authzEnv) send(t *testing.T, rq authzReq, cred string) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r, err := http.NewRequestWithContext(ctx, rq.method, e.srv.URL+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", rq.contentType)
	}
	if cred != "" {
		r.Header.Set("Authorization", "Bearer "+cred)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return res.StatusCode, res.Header, ""
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// sessionVia opens a wallet session for holder with a link made by the
// named fixture token.
func (e *env) sessionVia(t testing.TB, tokenName, holder string) string {
	t.Helper()
	r := e.req("POST", "/v1/holder-links", e.tokens[tokenName], `{"holder_id":"`+holder+`"}`)
	var link issuer.HolderLink
	r.json(t, &link)
	if r.status != 201 {
		t.Fatalf("holder link by %s: %d %s", tokenName, r.status, r.body)
	}
	r = e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+strings.TrimPrefix(link.URL, "/wallet#login=")+`"}`)
	var s issuer.WalletSession
	r.json(t, &s)
	if r.status != 200 || s.Session == "" {
		t.Fatalf("wallet session: %d %s", r.status, r.body)
	}
	return s.Session
}
