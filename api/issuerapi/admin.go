package issuerapi

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"elicence/api"
	"elicence/issuer"
	"elicence/issuer/store"
)

// admin is the /v1/admin resource: the trust-list operator's
// administration of departments, licence types and tokens.
type admin struct{ a *API }

// Routes lists the operator endpoints.
func (rs admin) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(rs.a.authenticate)
	r.Post("/departments", rs.createDepartment)
	r.Post("/departments/{code}/keys", rs.rotateKey)
	r.Post("/departments/{code}/keys/{id}/state", rs.setKeyState)
	r.Post("/departments/{code}/keys/{id}/reissue", rs.reissueKey)
	r.Post("/departments/{code}/types", rs.authorise)
	r.Post("/licence-types", rs.createType)
	r.Get("/tokens", rs.listTokens)
	r.Post("/tokens", rs.createToken)
	r.Post("/tokens/{id}/revoke", rs.revokeToken)
	return r
}

type keyJSON struct {
	ID               string     `json:"id"`
	Department       string     `json:"department"`
	State            string     `json:"state"`
	CreatedAt        time.Time  `json:"created_at"`
	CompromisedSince *time.Time `json:"compromised_since,omitempty"`
}

func keyOf(k store.SigningKey) keyJSON {
	j := keyJSON{ID: k.ID, Department: k.DepartmentCode, State: string(k.State), CreatedAt: k.CreatedAt}
	if k.State == store.KeyCompromised && !k.CompromisedSince.IsZero() {
		since := k.CompromisedSince.UTC()
		j.CompromisedSince = &since
	}
	return j
}

func (rs admin) createDepartment(w http.ResponseWriter, r *http.Request) {
	var req issuer.DepartmentRequest
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &req); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	d, k, err := rs.a.svc.Admin.CreateDepartment(r.Context(), principal(r), req)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"code": d.Code, "name": d.Name, "key": keyOf(k), "types": req.Types})
}

func (rs admin) rotateKey(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r, rs.a.cfg.MaxBody); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	k, err := rs.a.svc.Admin.NewDepartmentKey(r.Context(), principal(r), chi.URLParam(r, "code"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, keyOf(k))
}

// keyStateRequest is the body of POST .../keys/{id}/state.
type keyStateRequest struct {
	State string `json:"state"`
	// Since is RFC 3339: required for compromised, absent for retired.
	Since string `json:"since"`
}

func (rs admin) setKeyState(w http.ResponseWriter, r *http.Request) {
	var body keyStateRequest
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &body); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	var since time.Time
	if body.Since != "" {
		t, err := time.Parse(time.RFC3339, body.Since)
		if err != nil {
			rs.a.writeError(w, r, api.Invalid("the request is invalid", api.FieldError{Field: "since", Reason: "want an RFC 3339 time"}))
			return
		}
		since = t
	}
	k, err := rs.a.svc.Admin.SetKeyState(r.Context(), principal(r), chi.URLParam(r, "code"), chi.URLParam(r, "id"), store.KeyState(body.State), since)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, keyOf(k))
}

// reissueKeyRequest is the optional body of POST .../keys/{id}/reissue.
type reissueKeyRequest struct {
	// BatchSize is the number of licences per transaction; 0 for the
	// default.
	BatchSize int `json:"batch_size"`
}

// reissueKey re-issues every still-valid licence signed by a retired or
// compromised key under the department's active key. It answers when the
// run is complete; a run cut short (the client gone, the process
// stopped) is continued by sending the request again.
func (rs admin) reissueKey(w http.ResponseWriter, r *http.Request) {
	var body reissueKeyRequest
	if r.ContentLength != 0 {
		if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &body); err != nil {
			rs.a.writeError(w, r, err)
			return
		}
	}
	sum, err := rs.a.svc.Licences.ReissueKey(r.Context(), principal(r), chi.URLParam(r, "code"), chi.URLParam(r, "id"),
		issuer.ReissueKeyOptions{BatchSize: body.BatchSize})
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, sum)
}

func (rs admin) authorise(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type string `json:"type"`
	}
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &body); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	dept := chi.URLParam(r, "code")
	if err := rs.a.svc.Admin.Authorise(r.Context(), principal(r), dept, body.Type); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]string{"department": dept, "type": body.Type})
}

func (rs admin) createType(w http.ResponseWriter, r *http.Request) {
	var lt issuer.LicenceType
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &lt); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	out, err := rs.a.svc.Admin.CreateLicenceType(r.Context(), principal(r), lt)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, out)
}

type tokenJSON struct {
	ID         string        `json:"id"`
	Department string        `json:"department,omitempty"`
	Scopes     []store.Scope `json:"scopes"`
	Name       string        `json:"name"`
	CreatedAt  time.Time     `json:"created_at"`
	RevokedAt  *time.Time    `json:"revoked_at,omitempty"`
	// Token is the secret, present only in the answer that creates it.
	Token string `json:"token,omitempty"`
}

func tokenOf(t store.Token) tokenJSON {
	j := tokenJSON{ID: t.ID, Department: t.DepartmentCode, Scopes: t.Scopes, Name: t.Name, CreatedAt: t.CreatedAt}
	if t.Revoked() {
		at := t.RevokedAt
		j.RevokedAt = &at
	}
	return j
}

func (rs admin) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := rs.a.svc.Admin.Tokens(r.Context(), principal(r), r.URL.Query().Get("department"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenOf(t)
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (rs admin) createToken(w http.ResponseWriter, r *http.Request) {
	var req issuer.TokenRequest
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &req); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	t, secret, err := rs.a.svc.Admin.CreateToken(r.Context(), principal(r), req)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	j := tokenOf(t)
	j.Token = secret
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, j)
}

func (rs admin) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r, rs.a.cfg.MaxBody); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	t, err := rs.a.svc.Admin.RevokeToken(r.Context(), principal(r), chi.URLParam(r, "id"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, tokenOf(t))
}

type auditJSON struct {
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// departmentRoutes lists the administration endpoints a department
// token may call: its own part of the audit log.
func (rs admin) departmentRoutes(r chi.Router) {
	r.With(rs.a.authenticate).Get("/audit", rs.a.audit)
}

func (a *API) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after int64
	var limit int
	var errs []api.FieldError
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, api.FieldError{Field: "after", Reason: "want a non-negative integer"})
		}
		after = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageSize {
			errs = append(errs, api.FieldError{Field: "limit", Reason: "want 1 to " + strconv.Itoa(store.MaxPageSize)})
		}
		limit = n
	}
	if len(errs) > 0 {
		a.writeError(w, r, api.Invalid("invalid query parameters", errs...))
		return
	}
	es, last, err := a.svc.Admin.Audit(r.Context(), principal(r), after, limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]auditJSON, len(es))
	for i, e := range es {
		out[i] = auditJSON{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Subject: e.Subject,
			PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
		if len(e.Detail) > 0 {
			out[i].Detail = json.RawMessage(e.Detail)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, map[string]any{"entries": out, "next_after": last})
}
