package api

import (
	"net/http"
	"sort"
	"unicode/utf8"
)

// CheckText is middleware that refuses a request whose path or query holds
// a NUL byte, another control character or bytes that are not UTF-8: no
// identifier, code, filter or cursor contains them, and a database would
// refuse them with an internal error (PostgreSQL text cannot hold NUL). A
// bad path is 400, a bad query parameter 422, each naming the field.
func CheckText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const reason = "contains a NUL byte, a control character or bytes that are not UTF-8"
		if !cleanText(r.URL.Path) {
			WriteError(w, r, &Error{Kind: KindBadRequest, Detail: "invalid path", Fields: []FieldError{{Field: "path", Reason: reason}}})
			return
		}
		q := r.URL.Query()
		var errs []FieldError
		for name, vs := range q {
			if !cleanText(name) {
				errs = append(errs, FieldError{Field: "query", Reason: "a parameter name " + reason})
				continue
			}
			for _, v := range vs {
				if !cleanText(v) {
					errs = append(errs, FieldError{Field: name, Reason: reason})
					break
				}
			}
		}
		if len(errs) > 0 {
			sort.Slice(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
			WriteError(w, r, Invalid("invalid query parameters", errs...))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanText reports whether s is UTF-8 without control characters.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 {
			return false
		}
	}
	return true
}
