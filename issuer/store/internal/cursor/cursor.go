// Package cursor encodes the opaque keyset cursors of licence listings: the
// (IssuedAt, ID) of the last licence of a page.
package cursor

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"elicence/issuer/store"
)

const version = 1

// The times a cursor may carry: licences are issued after 1970 and before
// year 10000, which both stores can hold.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

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
	// Encode only ever writes issue times and licence identifiers; refuse
	// what a database would fail on (a time out of its range, text that
	// is not UTF-8 or holds NUL) as malformed.
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor: time out of range", store.ErrInvalid)
	}
	id := string(b[9:])
	if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor: identifier is not text", store.ErrInvalid)
	}
	return t, id, nil
}

// Trim cuts a page of licences asked for with one extra row (to tell
// whether more follow) to limit, and returns it with the cursor of the
// next page, "" when this is the last.
func Trim(page []store.Licence, limit int) ([]store.Licence, string) {
	if len(page) <= limit {
		return page, ""
	}
	page = page[:limit]
	last := page[limit-1]
	return page, Encode(last.IssuedAt, last.ID)
}
