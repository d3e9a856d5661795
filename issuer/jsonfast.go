package issuer

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// The bulk path encodes a request (for its hash) and a licence's fields
// (for the store) per row; encoding/json does it by reflection. The
// functions here write the same bytes directly for strings that
// encoding/json writes unchanged between quotes, and report false for any
// other, which then go to encoding/json (TestJSONFastMatchesEncodingJSON).

// plainJSONString reports whether encoding/json writes s between quotes
// as it is: valid UTF-8 with no control character, quote, backslash,
// HTML character (<, >, &) or U+2028/U+2029.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += n
	}
	return true
}

func appendJSONString(b []byte, s string) ([]byte, bool) {
	if !plainJSONString(s) {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendFieldsJSON appends m as encoding/json writes a map[string]string:
// keys in sorted order.
func appendFieldsJSON(b []byte, m map[string]string) ([]byte, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	ok := true
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendJSONString(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = appendJSONString(b, m[k]); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// fieldsJSON is json.Marshal(m) for a non-empty map.
func fieldsJSON(m map[string]string) []byte {
	if b, ok := appendFieldsJSON(make([]byte, 0, 256), m); ok {
		return b
	}
	b, _ := json.Marshal(m)
	return b
}

// requestJSON is json.Marshal(r), or false.
func requestJSON(r *Request) ([]byte, bool) {
	b := make([]byte, 0, 256)
	ok := true
	field := func(name, v string) {
		if ok {
			b = append(b, name...)
			b, ok = appendJSONString(b, v)
		}
	}
	field(`{"type":`, r.Type)
	field(`,"holder_name":`, r.HolderName)
	field(`,"holder_id":`, r.HolderID)
	field(`,"valid_from":`, r.ValidFrom)
	if r.ValidUntil != "" {
		field(`,"valid_until":`, r.ValidUntil)
	}
	if ok && len(r.Fields) > 0 {
		b = append(b, `,"fields":`...)
		b, ok = appendFieldsJSON(b, r.Fields)
	}
	return append(b, '}'), ok
}
