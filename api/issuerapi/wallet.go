package issuerapi

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"elicence/api"
	"elicence/issuer"
	"elicence/issuer/store"
)

// wallet is the /v1/wallet resource: a holder's own licences, reached with
// a session obtained from a one-time link (a department's, or the one the
// identity provider's sign-in hands over).
type wallet struct{ a *API }

// Routes lists the wallet endpoints.
func (rs wallet) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/sign-in", rs.signInOptions)
	r.Get("/oidc/login", rs.oidcLogin)
	r.Get("/oidc/callback", rs.oidcCallback)
	r.Post("/session", rs.session)
	r.Post("/session/refresh", rs.refresh)
	r.Delete("/session", rs.signOut)
	r.Group(func(r chi.Router) {
		r.Use(rs.holder)
		r.Get("/licences", rs.list)
		r.Post("/licences/{id}/presentations", rs.present)
		r.Post("/licences/{id}/annotated-copies", rs.annotate)
	})
	return r
}

type holderKey struct{}

// holder requires a wallet session and rate-limits it.
func (rs wallet) holder(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := rs.a.svc.Wallet.WalletHolder(r.Context(), bearer(r))
		if err != nil {
			rs.a.writeError(w, r, err)
			return
		}
		if !rs.a.allow(w, r, "wallet:"+h.SessionID, "rate limit of the wallet session exceeded") {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), holderKey{}, h)))
	})
}

func holderOf(r *http.Request) *issuer.Holder {
	h, _ := r.Context().Value(holderKey{}).(*issuer.Holder)
	return h
}

func (rs wallet) session(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LoginToken string `json:"login_token"`
	}
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &body); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	s, err := rs.a.svc.Wallet.StartWalletSession(r.Context(), body.LoginToken)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, s)
}

// signInOptions tells the wallet page which sign-ins the issuer offers.
func (rs wallet) signInOptions(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"oidc": rs.a.oidc != nil}
	if rs.a.oidc != nil {
		out["oidc_login_url"] = "/v1/wallet/oidc/login"
	}
	w.Header().Set("Cache-Control", "no-cache")
	api.WriteJSON(w, http.StatusOK, out)
}

func (rs wallet) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if rs.a.oidc == nil {
		api.NotFound(w, r)
		return
	}
	rs.a.oidc.login(w, r)
}

func (rs wallet) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if rs.a.oidc == nil {
		api.NotFound(w, r)
		return
	}
	rs.a.oidc.callback(w, r)
}

// refresh exchanges the session's secret for a new one with a new expiry.
func (rs wallet) refresh(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r, rs.a.cfg.MaxBody); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	s, err := rs.a.svc.Wallet.RefreshWalletSession(r.Context(), bearer(r))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, s)
}

// signOut ends the session.
func (rs wallet) signOut(w http.ResponseWriter, r *http.Request) {
	if err := rs.a.svc.Wallet.SignOutWallet(r.Context(), bearer(r)); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type walletLicenceJSON struct {
	ID         string  `json:"id"`
	TypeCode   string  `json:"type_code"`
	TypeName   string  `json:"type_name"`
	HolderName string  `json:"holder_name"`
	HolderID   string  `json:"holder_id"`
	IssuerCode string  `json:"issuer_code"`
	IssuerName string  `json:"issuer_name"`
	ValidFrom  string  `json:"valid_from"`
	ValidUntil *string `json:"valid_until"`
	Status     string  `json:"status"`
	// StatusReason and StatusChangedAt say why and when a licence was
	// revoked or suspended.
	StatusReason    string  `json:"status_reason,omitempty"`
	StatusChangedAt *string `json:"status_changed_at,omitempty"`
	QRText          string  `json:"qr_text"`
	// Log is where the licence is in its department's issuance log;
	// absent when the department keeps none.
	Log *walletLogJSON `json:"log,omitempty"`
}

func (rs wallet) list(w http.ResponseWriter, r *http.Request) {
	ls, err := rs.a.svc.Wallet.WalletLicences(r.Context(), holderOf(r))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	out := make([]walletLicenceJSON, len(ls))
	logs := rs.a.walletLogPositions(r.Context(), ls)
	names := map[string]string{}
	name := func(kind, code string, f func(context.Context, string) string) string {
		k := kind + code
		if n, ok := names[k]; ok {
			return n
		}
		n := f(r.Context(), code)
		names[k] = n
		return n
	}
	for i, l := range ls {
		j := walletLicenceJSON{
			ID: l.ID, TypeCode: l.TypeCode, TypeName: name("t", l.TypeCode, rs.a.svc.Wallet.TypeName),
			HolderName: l.HolderName, HolderID: maskedHolder(l),
			IssuerCode: l.DepartmentCode, IssuerName: name("d", l.DepartmentCode, rs.a.svc.Wallet.DepartmentName),
			Status: l.Status.String(), QRText: rs.a.qrText(l), Log: logs[i],
		}
		j.ValidFrom, j.ValidUntil = validityDates(l)
		if l.Status != store.StatusValid {
			j.StatusReason = l.StatusReason
			if !l.StatusChangedAt.IsZero() {
				at := l.StatusChangedAt.UTC().Format(time.RFC3339)
				j.StatusChangedAt = &at
			}
		}
		out[i] = j
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, map[string]any{"licences": out})
}

func (rs wallet) present(w http.ResponseWriter, r *http.Request) {
	if err := emptyBody(w, r, rs.a.cfg.MaxBody); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	p, err := rs.a.svc.Wallet.WalletPresent(r.Context(), holderOf(r), chi.URLParam(r, "id"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, p)
}

func (rs wallet) annotate(w http.ResponseWriter, r *http.Request) {
	req, err := decodeAnnotation(w, r, rs.a.cfg.MaxBody)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	c, err := rs.a.svc.Wallet.WalletAnnotate(r.Context(), holderOf(r), chi.URLParam(r, "id"), req)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, c)
}

// departmentRoutes lists the wallet endpoints a department calls, with
// its token: one-time links for a holder.
func (rs wallet) departmentRoutes(r chi.Router) {
	r.With(rs.a.authenticate).Post("/holder-links", rs.a.createHolderLink)
}

func (a *API) createHolderLink(w http.ResponseWriter, r *http.Request) {
	var body struct {
		HolderID string `json:"holder_id"`
	}
	if err := api.DecodeJSON(w, r, a.cfg.MaxBody, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	link, err := a.svc.Wallet.CreateHolderLink(r.Context(), principal(r), body.HolderID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, link)
}
