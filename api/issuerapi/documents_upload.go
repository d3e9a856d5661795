package issuerapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"

	"elicence/api"
	"elicence/document/cms"
	"elicence/issuer"
)

// DefaultMaxStreamedDocument is the default limit on a file signed with a
// .p7s (the whole multipart body): such a file is hashed as it arrives and
// never held, so the limit bounds only the time an upload takes.
const DefaultMaxStreamedDocument = 4 << 30

// readSignForm reads the multipart form of POST /v1/documents part by part.
// A PDF to sign in place is held (it is rewritten), up to MaxDocument; any
// other file, and a PDF after detached=true, is hashed as it streams, up to
// MaxStreamedDocument, and never held. Each read renews the connection's
// read deadline, so a long upload is not cut off while it keeps sending.
func (rs documents) readSignForm(w http.ResponseWriter, r *http.Request) (issuer.SignRequest, error) {
	var req issuer.SignRequest
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		return req, api.Errorf(api.KindUnsupportedMediaType, "send multipart/form-data with the part \"file\"")
	}
	max := max(rs.a.cfg.MaxStreamedDocument, rs.a.cfg.MaxDocument)
	r.Body = io.NopCloser(&uploadReader{r: http.MaxBytesReader(w, r.Body, max), rc: http.NewResponseController(w)})
	mr, err := r.MultipartReader()
	if err != nil {
		return req, api.Errorf(api.KindBadRequest, "multipart body: %v", err)
	}
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return req, api.MultipartError(err, max)
		}
		name := p.FormName()
		if seen[name] {
			return req, api.Invalid("the form has a part twice", api.FieldError{Field: name, Reason: "sent more than once"})
		}
		seen[name] = true
		switch name {
		case "file":
			req.FileName = path.Base(p.FileName())
			if req.FileName == "." || req.FileName == "/" {
				req.FileName = ""
			}
			if err := rs.readFile(p, &req, max); err != nil {
				return req, err
			}
		case "title", "number", "detached":
			v, err := api.FormText(p, max)
			if err != nil {
				return req, err
			}
			switch name {
			case "title":
				req.Title = v
			case "number":
				req.Number = v
			default:
				if req.Detached, err = strconv.ParseBool(v); err != nil {
					return req, api.Invalid("detached is not a boolean", api.FieldError{Field: "detached", Reason: "want true or false"})
				}
			}
		default:
			return req, api.Invalid("the form has an unknown part", api.FieldError{Field: name, Reason: "unknown part; the form takes file, title, number, detached"})
		}
	}
	if !seen["file"] {
		return req, api.Invalid("the form has no file", api.FieldError{Field: "file", Reason: "required"})
	}
	return req, nil
}

// readFile reads the file part into req: a PDF (unless detached=true came
// before it) whole, up to MaxDocument; anything else as its SM3 and size.
func (rs documents) readFile(p io.Reader, req *issuer.SignRequest, max int64) error {
	br := bufio.NewReaderSize(p, 4096)
	head, err := br.Peek(1024)
	if err != nil && err != io.EOF {
		return api.MultipartError(err, max)
	}
	if !req.Detached && issuer.IsPDF(head) {
		limit := rs.a.cfg.MaxDocument
		b, err := io.ReadAll(io.LimitReader(br, limit+1))
		if err != nil {
			return api.MultipartError(err, max)
		}
		if int64(len(b)) > limit {
			return &api.Error{Kind: api.KindTooLarge, Detail: fmt.Sprintf(
				"a PDF signed in place is held while it is stamped: at most %d MB; send detached=true before the file to sign it with a .p7s", limit>>20)}
		}
		req.Content = b
		return nil
	}
	d, n, err := cms.DigestCount(br)
	if err != nil {
		return api.MultipartError(errors.Unwrap(err), max)
	}
	req.Content, req.Digest, req.Size = nil, d, n
	if n == 0 {
		req.Content = []byte{} // empty: the room says so
	}
	return nil
}
