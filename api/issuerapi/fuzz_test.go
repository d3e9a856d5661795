package issuerapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"elicence/issuer"
	"elicence/issuer/issuertest"
)

// fuzzRoute is one route whose request body comes from outside.
type fuzzRoute struct {
	path, token, contentType, seed string
}

// FuzzRequestBodies sends arbitrary bodies to every route that decodes
// one (JSON, and NDJSON or CSV for bulk issuance), through the whole
// handler on a real store: the answer is never a 500, and every error is a
// problem document.
func FuzzRequestBodies(f *testing.F) {
	st := issuertest.Backends()[0].Open(f) // SQLite: what the decoders see does not depend on the store
	e := newEnv(f, st, issuer.Config{}, Config{})
	h := e.srv.Config.Handler
	tok, op := e.tokens[issuertest.TokenIssuer], e.tokens[issuertest.TokenOperator]
	l := e.issue(refDriving)
	lic := "/v1/licences/" + url.PathEscape(l.ID)
	link := e.req("POST", "/v1/holder-links", tok, `{"holder_id":"`+citizenID+`"}`)
	var lk struct {
		LoginToken string `json:"login_token"`
	}
	json.Unmarshal(link.body, &lk)
	routes := []fuzzRoute{
		{"/v1/licences", tok, "application/json", refBusiness},
		{"/v1/licences/batch", tok, "application/x-ndjson", refDriving + "\n" + refBusiness + "\n"},
		{"/v1/licences/batch?type=11110000MB00000048001", tok, "text/csv", "holder_name,holder_id,valid_from,cc,fi\n李四,350102199003071234,2024-01-15,C1,2012-01-15\n"},
		{lic + "/suspend", tok, "application/json", `{"reason":"investigation"}`},
		{lic + "/reinstate", tok, "application/json", `{}`},
		{lic + "/reissue", tok, "application/json", `{"fields":{"cc":"C2"}}`},
		{lic + "/presentations", tok, "application/json", `{}`},
		{lic + "/annotated-copies", tok, "application/json", `{"relying_department":"11350100MB00000025","purpose":"办理","expires_in_days":30}`},
		{"/v1/holder-links", tok, "application/json", `{"holder_id":"` + citizenID + `"}`},
		{"/v1/wallet/session", "", "application/json", `{"login_token":"` + lk.LoginToken + `"}`},
		{"/v1/admin/tokens", op, "application/json", `{"department":"11350100MB00000012","scopes":["read"],"name":"x"}`},
		{"/v1/admin/licence-types", op, "application/json", `{"code":"11100000MB0000001T009","name":"示例"}`},
		{"/v1/admin/departments/" + issuertest.Dept + "/types", op, "application/json", `{"type":"11100000MB0000001T002"}`},
	}
	for i, r := range routes {
		f.Add(uint8(i), []byte(r.seed))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest("POST", r.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", r.contentType)
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case w.Code == http.StatusInternalServerError:
			t.Fatalf("POST %s %q: 500 %s", r.path, body, w.Body)
		case w.Code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json"):
			t.Fatalf("POST %s %q: %d without a problem document", r.path, body, w.Code)
		}
	})
}
