package verifier

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the report encoded as JSON, byte for byte what
// encoding/json's Encoder with SetEscapeHTML(false) writes for it (without
// the Encoder's trailing newline), but without reflection: the verifier API
// answers every request with a report, and encoding it by reflection cost
// about as much as the rest of a remembered verification. Strings that need
// escaping beyond the common case, and times encoding/json refuses, go to
// encoding/json itself. Tests hold the two encodings equal for every vector
// report and for fuzzed reports.
func (r *Report) AppendJSON(b []byte) []byte {
	if !r.timesEncodable() {
		// encoding/json fails on these (years outside 0 to 9999); so
		// does this, the same way, by leaving b as it was.
		return appendReflect(b, r)
	}
	b = append(b, `{"indication":`...)
	b = appendString(b, string(r.Indication))
	if r.SubIndication != "" {
		b = append(b, `,"sub_indication":`...)
		b = appendString(b, string(r.SubIndication))
	}
	if r.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, r.Reason)
	}
	if r.Kind != "" {
		b = append(b, `,"kind":`...)
		b = appendString(b, r.Kind)
	}
	b = append(b, `,"checks":`...)
	if r.Checks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range r.Checks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, c.Name)
			b = append(b, `,"result":`...)
			b = appendString(b, string(c.Result))
			if c.Detail != "" {
				b = append(b, `,"detail":`...)
				b = appendString(b, c.Detail)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if l := r.Licence; l != nil {
		b = append(b, `,"licence":{"id":`...)
		b = appendString(b, l.ID)
		b = append(b, `,"type_code":`...)
		b = appendString(b, l.TypeCode)
		if l.TypeName != "" {
			b = append(b, `,"type_name":`...)
			b = appendString(b, l.TypeName)
		}
		b = append(b, `,"holder_name":`...)
		b = appendString(b, l.HolderName)
		b = append(b, `,"holder_id":`...)
		b = appendString(b, l.HolderID)
		b = append(b, `,"valid_from":`...)
		b = appendTime(b, l.ValidFrom)
		if l.ValidUntil != nil {
			b = append(b, `,"valid_until":`...)
			b = appendTime(b, *l.ValidUntil)
		}
		b = append(b, `,"issued_at":`...)
		b = appendTime(b, l.IssuedAt)
		if len(l.Fields) > 0 {
			b = append(b, `,"fields":[`...)
			for i, f := range l.Fields {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"key":`...)
				b = appendString(b, f.Key)
				if f.Label != "" {
					b = append(b, `,"label":`...)
					b = appendString(b, f.Label)
				}
				b = append(b, `,"value":`...)
				b = appendString(b, f.Value)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if is := r.Issuer; is != nil {
		b = append(b, `,"issuer":{"code":`...)
		b = appendString(b, is.Code)
		if is.Name != "" {
			b = append(b, `,"name":`...)
			b = appendString(b, is.Name)
		}
		b = append(b, `,"key_id":`...)
		b = appendString(b, is.KeyID)
		if is.KeyState != "" {
			b = append(b, `,"key_state":`...)
			b = appendString(b, is.KeyState)
		}
		b = append(b, '}')
	}
	if s := r.Status; s != nil {
		b = append(b, `,"status":{"list":`...)
		b = appendString(b, s.List)
		b = append(b, `,"index":`...)
		b = strconv.AppendUint(b, uint64(s.Index), 10)
		if s.Value != "" {
			b = append(b, `,"value":`...)
			b = appendString(b, s.Value)
		}
		if s.Reason != "" {
			b = append(b, `,"reason":`...)
			b = appendString(b, s.Reason)
		}
		if !s.ChangedAt.IsZero() {
			b = append(b, `,"changed_at":`...)
			b = appendTime(b, s.ChangedAt)
		}
		if !s.IssuedAt.IsZero() {
			b = append(b, `,"issued_at":`...)
			b = appendTime(b, s.IssuedAt)
		}
		b = append(b, `,"age_seconds":`...)
		b = strconv.AppendInt(b, s.AgeSeconds, 10)
		if s.TTLSeconds != 0 {
			b = append(b, `,"ttl_seconds":`...)
			b = strconv.AppendUint(b, uint64(s.TTLSeconds), 10)
		}
		if !s.FetchedAt.IsZero() {
			b = append(b, `,"fetched_at":`...)
			b = appendTime(b, s.FetchedAt)
		}
		if s.Source != "" {
			b = append(b, `,"source":`...)
			b = appendString(b, s.Source)
		}
		b = append(b, '}')
	}
	if w := r.Validity; w != nil {
		b = append(b, `,"presentation":{"not_before":`...)
		b = appendTime(b, w.NotBefore)
		b = append(b, `,"expires":`...)
		b = appendTime(b, w.Expires)
		b = append(b, '}')
	}
	if a := r.Annotation; a != nil {
		b = append(b, `,"annotation":{"relying_department":`...)
		b = appendString(b, a.RelyingDepartment)
		if a.RelyingDepartmentName != "" {
			b = append(b, `,"relying_department_name":`...)
			b = appendString(b, a.RelyingDepartmentName)
		}
		b = append(b, `,"purpose":`...)
		b = appendString(b, a.Purpose)
		b = append(b, `,"issued_at":`...)
		b = appendTime(b, a.IssuedAt)
		b = append(b, `,"expires":`...)
		b = appendTime(b, a.Expires)
		b = append(b, '}')
	}
	if d := r.Document; d != nil {
		b = append(b, `,"document":{"id":`...)
		b = appendString(b, d.ID)
		b = append(b, `,"title":`...)
		b = appendString(b, d.Title)
		if d.Number != "" {
			b = append(b, `,"number":`...)
			b = appendString(b, d.Number)
		}
		b = append(b, `,"signed_at":`...)
		b = appendTime(b, d.SignedAt)
		b = append(b, `,"sm3":`...)
		b = appendString(b, d.SM3)
		if d.File != "" {
			b = append(b, `,"file":`...)
			b = appendString(b, d.File)
		}
		b = append(b, '}')
	}
	if p := r.LogProof; p != nil {
		b = append(b, `,"log_proof":{"origin":`...)
		b = appendString(b, p.Origin)
		b = append(b, `,"size":`...)
		b = strconv.AppendUint(b, p.Size, 10)
		b = append(b, `,"root":`...)
		b = appendString(b, p.Root)
		b = append(b, `,"index":`...)
		b = strconv.AppendUint(b, p.Index, 10)
		b = append(b, `,"witness":`...)
		b = appendString(b, p.Witness)
		b = append(b, `,"cosigned_at":`...)
		b = appendTime(b, p.CosignedAt)
		b = append(b, `,"source":`...)
		b = appendString(b, p.Source)
		b = append(b, '}')
	}
	b = append(b, `,"verified_at":`...)
	b = appendTime(b, r.VerifiedAt)
	return append(b, '}')
}

// timesEncodable reports whether every time the report encodes is one
// encoding/json accepts (RFC 3339: years 0 to 9999, offsets within a day).
func (r *Report) timesEncodable() bool {
	ok := func(t time.Time) bool {
		if y := t.Year(); y < 0 || y > 9999 {
			return false
		}
		_, off := t.Zone()
		return off > -24*3600 && off < 24*3600
	}
	if !ok(r.VerifiedAt) {
		return false
	}
	if l := r.Licence; l != nil && (!ok(l.ValidFrom) || !ok(l.IssuedAt) || l.ValidUntil != nil && !ok(*l.ValidUntil)) {
		return false
	}
	if s := r.Status; s != nil && (!ok(s.ChangedAt) || !ok(s.IssuedAt) || !ok(s.FetchedAt)) {
		return false
	}
	if w := r.Validity; w != nil && (!ok(w.NotBefore) || !ok(w.Expires)) {
		return false
	}
	if a := r.Annotation; a != nil && (!ok(a.IssuedAt) || !ok(a.Expires)) {
		return false
	}
	if d := r.Document; d != nil && !ok(d.SignedAt) {
		return false
	}
	if p := r.LogProof; p != nil && !ok(p.CosignedAt) {
		return false
	}
	return true
}

// appendReflect appends v as encoding/json's Encoder with SetEscapeHTML(false)
// writes it, without the newline; on an error it appends nothing.
func appendReflect(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendTime appends t as time.Time's MarshalJSON does: RFC 3339 with
// nanoseconds as needed, quoted.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string. Text that is valid UTF-8 without
// control characters, quotes, backslashes, U+2028 or U+2029 is copied as it
// is, as encoding/json does without HTML escaping; anything else is left to
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		// Eight bytes at a time while they are plain ASCII.
		if i+8 <= len(s) && plainASCII8(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return appendReflect(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return appendReflect(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainASCII8 reports whether each of the eight bytes of w is ASCII of
// 0x20 or above and neither '"' nor '\\': bytes a JSON string holds as they
// are. (With no byte of 0x80 or above, x - 0x20…20 borrows, and
// (x - 0x01…01) &^ x sets a byte's top bit, exactly when some byte is
// below 0x20, or zero.)
func plainASCII8(w uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) bool { return (x-ones)&^x&tops != 0 }
	return w&tops == 0 && (w-0x20*ones)&^w&tops == 0 && !zero(w^'"'*ones) && !zero(w^'\\'*ones)
}
