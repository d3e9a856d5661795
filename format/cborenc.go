package format

import (
	"slices"
	"strings"
)

// Canonical CBOR of the payloads signed in bulk (the record, both
// credential layouts), written directly instead of by reflection. The bytes
// are exactly those encMode (fxamacker/cbor's core deterministic encoding)
// writes for the same value: shortest-form heads, struct fields as map keys
// 0, 1, 2, … in ascending order, omitempty fields left out when zero, text
// map keys in the bytewise order of their encodings, Go strings as text
// strings as they are. The one case the direct writers do not take — a nil
// byte string, which encMode writes as null — goes to encMode itself.
// TestPayloadEncodersMatchCBOR and FuzzPayloadEncoders hold the two equal.

// appendHead appends a CBOR data item head of major type major (0 to 7)
// with argument n in its shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendInt appends a signed integer: major type 0, or 1 with -1-v.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendHead(b, 1, uint64(-1-v))
	}
	return appendHead(b, 0, uint64(v))
}

// headSize is the size of the head of an item with argument n.
func headSize(n int) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// strSize is the encoded size of a text or byte string of n bytes with
// its map key (one byte, keys 0 to 23).
func strSize(n int) int { return 1 + headSize(n) + n }

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, 3, uint64(len(s))), s...)
}

func appendByteString(b []byte, v []byte) []byte {
	return append(appendHead(b, 2, uint64(len(v))), v...)
}

// field is one entry of a map of text to text.
type field struct{ k, v string }

// sortedFields returns m's entries in the bytewise order of their keys'
// encodings — by length first (the head holds the length), then byte by
// byte — in buf when they fit, and a bound on the map's encoded size with
// its map key.
func sortedFields(m map[string]string, buf *[maxFields]field) ([]field, int) {
	fs, n := buf[:0], 1+9
	for k, v := range m {
		fs = append(fs, field{k, v})
		n += headSize(len(k)) + len(k) + headSize(len(v)) + len(v)
	}
	slices.SortFunc(fs, func(x, y field) int {
		if len(x.k) != len(y.k) {
			return len(x.k) - len(y.k)
		}
		return strings.Compare(x.k, y.k)
	})
	return fs, n
}

// appendFields appends a map of text to text whose entries sortedFields
// gave.
func appendFields(b []byte, fs []field) []byte {
	b = appendHead(b, 5, uint64(len(fs)))
	for _, f := range fs {
		b = appendText(appendText(b, f.k), f.v)
	}
	return b
}

// entries is the number of map entries of a payload with n mandatory keys,
// the optional end of validity and the optional fields.
func entries(n int, until int64, fields map[string]string) uint64 {
	if until != 0 {
		n++
	}
	if len(fields) > 0 {
		n++
	}
	return uint64(n)
}

// appendKeyDigestFields appends keys 11 to 13, which both credential
// layouts share: the (short) key ID, the record digest, the fields.
func appendKeyDigestFields(b, keyID, digest []byte, fs []field) []byte {
	b = appendByteString(append(b, 0x0b), keyID)
	b = appendByteString(append(b, 0x0c), digest)
	if len(fs) > 0 {
		b = appendFields(append(b, 0x0d), fs)
	}
	return b
}

// encode returns the canonical encoding of r, or reports false for a
// record the direct writer does not take (a nil salt).
func (r *Record) encode() ([]byte, bool) {
	if r.Salt == nil {
		return nil, false
	}
	var buf [maxFields]field
	fs, size := sortedFields(r.Fields, &buf)
	// Fixed: map head, key and value of Version, HolderKind (9 bytes at
	// most each with its key), ValidFrom and ValidUntil (10 each).
	b := make([]byte, 0, 1+2*9+2*10+strSize(len(r.Salt))+strSize(len(r.TypeCode))+strSize(len(r.IssuerCode))+
		strSize(len(r.Serial))+strSize(len(r.HolderName))+strSize(len(r.HolderCode))+size)
	b = appendHead(b, 5, entries(9, r.ValidUntil, r.Fields))
	b = appendByteString(append(b, 0x00), r.Salt)
	b = appendText(append(b, 0x01), r.TypeCode)
	b = appendText(append(b, 0x02), r.IssuerCode)
	b = appendText(append(b, 0x03), r.Serial)
	b = appendHead(append(b, 0x04), 0, uint64(r.Version))
	b = appendText(append(b, 0x05), r.HolderName)
	b = appendHead(append(b, 0x06), 0, uint64(r.HolderKind))
	b = appendText(append(b, 0x07), r.HolderCode)
	b = appendInt(append(b, 0x08), r.ValidFrom)
	if r.ValidUntil != 0 {
		b = appendInt(append(b, 0x09), r.ValidUntil)
	}
	if len(r.Fields) > 0 {
		b = appendFields(append(b, 0x0a), fs)
	}
	return b, true
}

// encode returns the canonical encoding of the credential payload.
func (c *Credential) encode() ([]byte, error) {
	if c.KeyID == nil || c.RecordDigest == nil {
		return encMode.Marshal(c)
	}
	var buf [maxFields]field
	fs, size := sortedFields(c.Fields, &buf)
	// Fixed: map head, Kind and Version (9 bytes at most each with its
	// key), three times (10 each), the status array's key, head and index
	// (7).
	b := make([]byte, 0, 1+2*9+3*10+7+strSize(len(c.TypeCode))+strSize(len(c.IssuerCode))+strSize(len(c.Serial))+
		strSize(len(c.HolderName))+strSize(len(c.HolderID))+strSize(len(c.Status.List))-1+strSize(len(c.KeyID))+strSize(len(c.RecordDigest))+size)
	b = appendHead(b, 5, entries(12, c.ValidUntil, c.Fields))
	b = appendHead(append(b, 0x00), 0, uint64(c.Kind))
	b = appendText(append(b, 0x01), c.TypeCode)
	b = appendText(append(b, 0x02), c.IssuerCode)
	b = appendText(append(b, 0x03), c.Serial)
	b = appendHolderAndTimes(b, c.Version, c.HolderName, c.HolderID, c.ValidFrom, c.ValidUntil, c.IssuedAt)
	b = appendText(append(b, 0x0a, 0x82), c.Status.List)
	b = appendHead(b, 0, uint64(c.Status.Index))
	return appendKeyDigestFields(b, c.KeyID, c.RecordDigest, fs), nil
}

// appendHolderAndTimes appends keys 4 to 9, which both credential layouts
// share.
func appendHolderAndTimes(b []byte, version uint16, name, id string, from, until, issued int64) []byte {
	b = appendHead(append(b, 0x04), 0, uint64(version))
	b = appendText(append(b, 0x05), name)
	b = appendText(append(b, 0x06), id)
	b = appendInt(append(b, 0x07), from)
	if until != 0 {
		b = appendInt(append(b, 0x08), until)
	}
	return appendInt(append(b, 0x09), issued)
}

// encode returns the canonical encoding of the compact credential payload.
func (c *CompactCredential) encode() ([]byte, error) {
	if c.ShortKeyID == nil || c.RecordDigest == nil {
		return encMode.Marshal(c)
	}
	var buf [maxFields]field
	fs, size := sortedFields(c.Fields, &buf)
	// Fixed: map head, Kind, TypeNumber and Version (9 bytes at most each
	// with its key), three times (10 each), the status array (13).
	b := make([]byte, 0, 1+3*9+3*10+13+strSize(len(c.Serial))+strSize(len(c.HolderName))+strSize(len(c.HolderID))+
		strSize(len(c.ShortKeyID))+strSize(len(c.RecordDigest))+size)
	b = appendHead(b, 5, entries(11, c.ValidUntil, c.Fields))
	b = appendHead(append(b, 0x00), 0, uint64(c.Kind))
	b = appendHead(append(b, 0x01), 0, uint64(c.TypeNumber))
	b = appendText(append(b, 0x03), c.Serial)
	b = appendHolderAndTimes(b, c.Version, c.HolderName, c.HolderID, c.ValidFrom, c.ValidUntil, c.IssuedAt)
	b = appendHead(append(b, 0x0a, 0x82), 0, uint64(c.Status.List))
	b = appendHead(b, 0, uint64(c.Status.Index))
	return appendKeyDigestFields(b, c.ShortKeyID, c.RecordDigest, fs), nil
}
