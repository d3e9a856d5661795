package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
)

// DefaultMaxDocument is the default limit on an uploaded document: the
// whole multipart body of a signing or verification request.
const DefaultMaxDocument = 50 << 20

// maxFormText limits a text part of a multipart form.
const maxFormText = 4 << 10

// ReadMultipart reads a multipart/form-data body of at most max bytes:
// the parts named in files as bytes (at most one each), every other part
// as text of at most 4 KiB. An unknown part name, a part sent twice, a
// body that is not multipart or too large are *Error values that say so.
func ReadMultipart(w http.ResponseWriter, r *http.Request, max int64, files []string, texts []string) (map[string][]byte, map[string]string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, nil, Errorf(KindUnsupportedMediaType, "send multipart/form-data with the part %q", files[0])
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, Errorf(KindBadRequest, "multipart body: %v", err)
	}
	gotFiles, gotTexts := map[string][]byte{}, map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, multipartErr(err, max)
		}
		name := p.FormName()
		switch {
		case slices.Contains(files, name):
			if _, dup := gotFiles[name]; dup {
				return nil, nil, Invalid("the form has a part twice", FieldError{Field: name, Reason: "sent more than once"})
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, nil, multipartErr(err, max)
			}
			gotFiles[name] = b
			if fn := p.FileName(); fn != "" {
				gotTexts[name+".filename"] = fn
			}
		case slices.Contains(texts, name):
			if _, dup := gotTexts[name]; dup {
				return nil, nil, Invalid("the form has a part twice", FieldError{Field: name, Reason: "sent more than once"})
			}
			v, err := FormText(p, max)
			if err != nil {
				return nil, nil, err
			}
			gotTexts[name] = v
		default:
			return nil, nil, Invalid("the form has an unknown part", FieldError{Field: name,
				Reason: "unknown part; the form takes " + strings.Join(append(append([]string{}, files...), texts...), ", ")})
		}
	}
	return gotFiles, gotTexts, nil
}

// FormText reads a text part of a multipart form whose whole body is
// limited to max bytes: a field longer than 4 KiB is invalid.
func FormText(p *multipart.Part, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxFormText+1))
	if err != nil {
		return "", MultipartError(err, max)
	}
	if len(b) > maxFormText {
		return "", Invalid("a form field is too long", FieldError{Field: p.FormName(), Reason: fmt.Sprintf("at most %d bytes", maxFormText)})
	}
	return string(b), nil
}

// MultipartError is the error of a failed read of a multipart body
// limited to max bytes: too large (413) or malformed (400).
func MultipartError(err error, max int64) error {
	return multipartErr(err, max)
}

func multipartErr(err error, max int64) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return Errorf(KindTooLarge, "the upload is larger than %d MB", max>>20)
	}
	return Errorf(KindBadRequest, "multipart body: %v", err)
}
