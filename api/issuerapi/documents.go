package issuerapi

import (
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"elicence/api"
	"elicence/issuer/store"
)

// documents is the /v1/documents resource (the documents room).
type documents struct{ a *API }

// Routes lists the document endpoints.
func (rs documents) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(rs.a.authenticate)
	r.Post("/", rs.sign)
	r.Get("/{id}", rs.get)
	r.Post("/{id}/rescind", rs.rescind)
	r.Post("/signers/{code}", rs.setSigner)
	return r
}

// signerRequest is the body of POST /v1/documents/signers/{code}.
type signerRequest struct {
	Allowed *bool `json:"allowed"`
}

// setSigner lets a department sign documents or stops it (operator).
func (rs documents) setSigner(w http.ResponseWriter, r *http.Request) {
	var req signerRequest
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &req); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	if req.Allowed == nil {
		rs.a.writeError(w, r, api.Invalid("allowed is required", api.FieldError{Field: "allowed", Reason: "required: true or false"}))
		return
	}
	code := chi.URLParam(r, "code")
	if err := rs.a.svc.Documents.SetSigner(r.Context(), principal(r), code, *req.Allowed); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"department": code, "allowed": *req.Allowed})
}

// documentJSON is a signed document as the API answers it.
type documentJSON struct {
	ID           string    `json:"id"`
	Issuer       string    `json:"issuer"`
	Kind         string    `json:"kind"`
	Title        string    `json:"title"`
	Number       string    `json:"number,omitempty"`
	FileName     string    `json:"file_name,omitempty"`
	KeyID        string    `json:"key_id"`
	SignedAt     time.Time `json:"signed_at"`
	SM3          string    `json:"sm3"`
	SignedSM3    string    `json:"signed_sm3"`
	Size         int64     `json:"size"`
	Pages        int       `json:"pages"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	StatusList   string    `json:"status_list"`
	StatusIndex  int       `json:"status_index"`
	QRText       string    `json:"qr_text"`
}

func (rs documents) toJSON(d store.Document) documentJSON {
	status := "valid"
	if d.Status == store.StatusRevoked {
		status = "rescinded"
	}
	return documentJSON{
		ID: d.ID, Issuer: d.DepartmentCode, Kind: d.Kind, Title: d.Title, Number: d.Number, FileName: d.FileName, KeyID: d.KeyID,
		SignedAt: d.SignedAt.UTC(), SM3: hex.EncodeToString(d.SM3), SignedSM3: hex.EncodeToString(d.SignedSM3), Size: d.Size, Pages: d.Pages,
		Status: status, StatusReason: d.StatusReason, StatusList: d.StatusListID, StatusIndex: d.StatusIndex,
		QRText: rs.a.svc.Documents.ReceiptQRText(d.Receipt),
	}
}

// sign takes a multipart form: file (required), title, number, detached
// ("true" signs a PDF with a .p7s too; see readSignForm for what is held
// and what streams). The answer is the signed file
// itself — the stamped, signed PDF or the .p7s — with the record in
// headers: Location, Elicence-Document-Id, Elicence-Receipt (the QR
// text).
func (rs documents) sign(w http.ResponseWriter, r *http.Request) {
	req, err := rs.readSignForm(w, r)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	sd, err := rs.a.svc.Documents.Sign(r.Context(), principal(r), req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	if sd.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	d := sd.Document
	w.Header().Set("Location", "/v1/documents/"+url.PathEscape(d.ID))
	w.Header().Set("Elicence-Document-Id", d.ID)
	w.Header().Set("Elicence-Receipt", sd.QRText)
	name := strings.TrimSuffix(req.FileName, path.Ext(req.FileName))
	if name == "" {
		name = d.ID
	}
	if d.Kind == store.DocumentPDF {
		w.Header().Set("Content-Type", "application/pdf")
		name += "-signed.pdf"
	} else {
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		name = req.FileName + ".p7s"
		if req.FileName == "" {
			name = d.ID + ".p7s"
		}
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(sd.File)))
	w.WriteHeader(http.StatusCreated)
	w.Write(sd.File)
}

func (rs documents) get(w http.ResponseWriter, r *http.Request) {
	d, err := rs.a.svc.Documents.Document(r.Context(), principal(r), chi.URLParam(r, "id"))
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, rs.toJSON(d))
}

// rescindRequest is the body of POST /v1/documents/{id}/rescind.
type rescindRequest struct {
	Reason string `json:"reason"`
}

func (rs documents) rescind(w http.ResponseWriter, r *http.Request) {
	var req rescindRequest
	if err := api.DecodeJSON(w, r, rs.a.cfg.MaxBody, &req); err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	d, err := rs.a.svc.Documents.Rescind(r.Context(), principal(r), chi.URLParam(r, "id"), req.Reason)
	if err != nil {
		rs.a.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, rs.toJSON(d))
}
