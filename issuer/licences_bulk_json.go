package issuer

import "unicode/utf8"

// decodeRowFast decodes one NDJSON bulk row into req without reflection,
// for the rows a client usually sends: one object whose members are the
// Request's fields by their exact names, each a string without escapes
// (valid UTF-8, no control characters), "fields" an object of such
// strings, and nothing after it. It reports false for anything else —
// escapes, numbers, null, other names or spellings, malformed JSON — and
// then req is to be discarded and the row decoded by encoding/json, which
// gives every error its wording. Where it reports true, req is what
// encoding/json (with DisallowUnknownFields) decodes from the line:
// repeated names keep the last value, repeated "fields" objects merge,
// an empty "fields" object is an empty map. The strings share one copy
// of the line.
func decodeRowFast(line []byte, req *Request) bool {
	d := fastRow{b: line}
	if !d.skip('{') {
		return false
	}
	if d.skip('}') {
		return d.end()
	}
	var s string // the line as a string, made at the first value
	str := func() (string, bool) {
		start, stop, ok := d.str()
		if !ok {
			return "", false
		}
		if s == "" {
			s = string(line)
		}
		return s[start:stop], true
	}
	for {
		kStart, kStop, ok := d.str()
		if !ok || !d.skip(':') {
			return false
		}
		var dst *string
		switch string(line[kStart:kStop]) {
		case "type":
			dst = &req.Type
		case "holder_name":
			dst = &req.HolderName
		case "holder_id":
			dst = &req.HolderID
		case "valid_from":
			dst = &req.ValidFrom
		case "valid_until":
			dst = &req.ValidUntil
		case "fields":
			if !d.skip('{') {
				return false
			}
			if req.Fields == nil {
				req.Fields = make(map[string]string, 4)
			}
			if !d.skip('}') {
				for {
					k, ok := str()
					if !ok || !d.skip(':') {
						return false
					}
					v, ok := str()
					if !ok {
						return false
					}
					req.Fields[k] = v
					if d.skip('}') {
						break
					}
					if !d.skip(',') {
						return false
					}
				}
			}
		default:
			return false
		}
		if dst != nil {
			v, ok := str()
			if !ok {
				return false
			}
			*dst = v
		}
		if d.skip('}') {
			return d.end()
		}
		if !d.skip(',') {
			return false
		}
	}
}

// fastRow is decodeRowFast's position in the line.
type fastRow struct {
	b []byte
	i int
}

func (d *fastRow) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// skip consumes c after any whitespace, if it is there.
func (d *fastRow) skip(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (d *fastRow) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// str consumes a string without escapes after any whitespace and returns
// the bounds of its content.
func (d *fastRow) str() (int, int, bool) {
	if !d.skip('"') {
		return 0, 0, false
	}
	start, ascii := d.i, true
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			stop := d.i
			d.i++
			return start, stop, ascii || utf8.Valid(d.b[start:stop])
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false
}
