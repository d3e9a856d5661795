package format

import (
	"bytes"
	"math"
	"unicode/utf8"
)

// The general decoder (fxamacker/cbor, by reflection, then re-encoding to
// compare) costs more than the rest of a verification but the SM2
// arithmetic. fastCredential reads the one shape a canonical credential
// payload has directly and checks, as it reads, everything that makes the
// encoding canonical: shortest headers, keys in ascending order, every
// mandatory key present, omitted optional keys never written with their zero
// value, field keys in canonical order. Anything else makes it give up, and
// the general decoder then decides and classifies the error. FuzzFastCredential
// holds the two paths to the same answers.

// cborReader reads CBOR data items from the front of b, accepting only
// shortest-form, definite-length headers. s is the whole input as a
// string, of which texts are substrings: one allocation for every text of
// a payload, not one each.
type cborReader struct {
	b []byte
	s string
}

// head reads an item header with a definite argument in its shortest form.
func (r *cborReader) head() (major byte, arg uint64, ok bool) {
	if len(r.b) == 0 {
		return 0, 0, false
	}
	major, ai := r.b[0]>>5, r.b[0]&0x1f
	r.b = r.b[1:]
	var n int
	switch {
	case ai < 24:
		return major, uint64(ai), true
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	default: // reserved or indefinite
		return 0, 0, false
	}
	if len(r.b) < n {
		return 0, 0, false
	}
	for _, c := range r.b[:n] {
		arg = arg<<8 | uint64(c)
	}
	r.b = r.b[n:]
	// Shortest form: each longer header only for values the shorter cannot hold.
	if min := [...]uint64{1: 24, 2: 1 << 8, 4: 1 << 16, 8: 1 << 32}[n]; arg < min {
		return 0, 0, false
	}
	return major, arg, true
}

func (r *cborReader) uint(max uint64) (uint64, bool) {
	m, v, ok := r.head()
	return v, ok && m == 0 && v <= max
}

func (r *cborReader) raw(major byte) ([]byte, bool) {
	m, n, ok := r.head()
	if !ok || m != major || n > uint64(len(r.b)) {
		return nil, false
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, true
}

func (r *cborReader) text() (string, bool) {
	v, ok := r.raw(3)
	if !ok || !utf8.Valid(v) {
		return "", false
	}
	end := len(r.s) - len(r.b)
	return r.s[end-len(v) : end], true
}

func (r *cborReader) bytes() ([]byte, bool) {
	v, ok := r.raw(2)
	return bytes.Clone(v), ok
}

// mandatoryKeys are the credential keys the encoder always writes: all but
// 8 (valid until) and 13 (fields), which it omits when zero or empty.
const mandatoryKeys = (1<<14 - 1) &^ (1<<8 | 1<<13)

// fastCredential decodes a canonical credential payload.
func fastCredential(p []byte) (*Credential, bool) {
	r := &cborReader{b: p, s: string(p)}
	m, n, ok := r.head()
	if !ok || m != 5 || n > 14 {
		return nil, false
	}
	c := &Credential{}
	seen, last := 0, -1
	for range n {
		k, ok := r.uint(13)
		if !ok || int(k) <= last {
			return nil, false
		}
		last, seen = int(k), seen|1<<k
		var v uint64
		switch k {
		case 0:
			v, ok = r.uint(math.MaxUint8)
			c.Kind = Kind(v)
		case 1:
			c.TypeCode, ok = r.text()
		case 2:
			c.IssuerCode, ok = r.text()
		case 3:
			c.Serial, ok = r.text()
		case 4:
			v, ok = r.uint(math.MaxUint16)
			c.Version = uint16(v)
		case 5:
			c.HolderName, ok = r.text()
		case 6:
			c.HolderID, ok = r.text()
		case 7:
			v, ok = r.uint(math.MaxInt64)
			c.ValidFrom = int64(v)
		case 8:
			v, ok = r.uint(math.MaxInt64)
			c.ValidUntil = int64(v)
			ok = ok && v != 0
		case 9:
			v, ok = r.uint(math.MaxInt64)
			c.IssuedAt = int64(v)
		case 10:
			var am byte
			am, v, ok = r.head()
			if !ok || am != 4 || v != 2 {
				return nil, false
			}
			if c.Status.List, ok = r.text(); ok {
				v, ok = r.uint(math.MaxUint32)
				c.Status.Index = uint32(v)
			}
		case 11:
			c.KeyID, ok = r.bytes()
		case 12:
			c.RecordDigest, ok = r.bytes()
		case 13:
			c.Fields, ok = r.fields()
		}
		if !ok {
			return nil, false
		}
	}
	return c, len(r.b) == 0 && seen&mandatoryKeys == mandatoryKeys
}

// fields reads a non-empty text-to-text map whose keys are in canonical
// order: by length, then bytewise (for text keys the same as comparing their
// encodings bytewise).
func (r *cborReader) fields() (map[string]string, bool) {
	m, n, ok := r.head()
	if !ok || m != 5 || n == 0 || n > maxFields {
		return nil, false
	}
	f := make(map[string]string, n)
	prev := ""
	for i := range n {
		k, ok1 := r.text()
		v, ok2 := r.text()
		if !ok1 || !ok2 || i > 0 && (len(k) < len(prev) || len(k) == len(prev) && k <= prev) {
			return nil, false
		}
		f[k], prev = v, k
	}
	return f, true
}
