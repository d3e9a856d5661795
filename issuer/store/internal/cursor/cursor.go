// Package cursor encodes the opaque keyset cursors of licence listings: the
// (IssuedAt, ID) of the last licence of a page.
package cursor

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"elicence/issuer/store"
)

const version = 1

// Encode returns the cursor that continues after the licence issued at t
// with the identifier id.
func Encode(t time.Time, id string) string {
	b := make([]byte, 9, 9+len(id))
	b[0] = version
	binary.BigEndian.PutUint64(b[1:], uint64(t.UnixMicro()))
	b = append(b, id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the issue time and identifier in a cursor made by Encode.
// Errors wrap store.ErrInvalid.
func Decode(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 10 || b[0] != version {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor", store.ErrInvalid)
	}
	t := time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()
	return t, string(b[9:]), nil
}
