package verifierapi

import (
	"log/slog"
	"net/http"

	"elicence/api"
	"elicence/verifier"
)

// DocumentHandler serves POST /v1/verify/document.
type DocumentHandler struct{ h *Handler }

// Document returns the handler of POST /v1/verify/document, to be mounted
// at that path: it verifies a signed document with the same trust and
// status sources as h.
func (h *Handler) Document() *DocumentHandler { return &DocumentHandler{h} }

// ServeHTTP verifies a multipart upload — "file", a signed PDF or any
// file, and for the latter "signature", its .p7s — and answers the report
// with 200 whatever the verdict (verifier.VerifyDocument). A malformed
// request is answered with problem details naming the part.
func (d *DocumentHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		api.MethodNotAllowed(w, r)
		return
	}
	h := d.h
	// Documents are large: they share the bound on uploads held at once.
	select {
	case h.uploads <- struct{}{}:
		defer func() { <-h.uploads }()
	default:
		api.WriteError(w, r, busy("too many uploads being verified; retry shortly"))
		return
	}
	files, _, err := api.ReadMultipart(w, r, h.cfg.MaxDocument, []string{"file", "signature"}, nil)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	file, ok := files["file"]
	if !ok || len(file) == 0 {
		api.WriteError(w, r, api.Invalid("the form has no file", api.FieldError{Field: "file", Reason: "required: the signed PDF, or the file a .p7s signs"}))
		return
	}
	sig, hasSig := files["signature"]
	if hasSig && len(sig) == 0 {
		api.WriteError(w, r, api.Invalid("the signature part is empty", api.FieldError{Field: "signature", Reason: "empty: send the .p7s, or leave the part out for a signed PDF"}))
		return
	}
	ctx := r.Context()
	rep := verifier.VerifyDocument(ctx, file, sig, h.cfg.Verify)
	h.count(rep)
	if l := api.Logger(ctx); l.Enabled(ctx, slog.LevelInfo) {
		attrs := []any{"kind", rep.Kind, "indication", rep.Indication, "sub_indication", rep.SubIndication, "bytes", len(file)}
		if rep.Issuer != nil {
			attrs = append(attrs, "issuer", rep.Issuer.Code)
		}
		l.Info("verified document", attrs...)
	}
	writeJSON(w, rep.AppendJSON)
}
