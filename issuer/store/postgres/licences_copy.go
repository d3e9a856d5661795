package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

// copyLicencesSQL copies rows of licenceColumnList in PostgreSQL's binary
// COPY format.
var copyLicencesSQL = "COPY licences (" + licenceColumns + ") FROM STDIN BINARY"

// copyLicences writes ls[idx[0]], ls[idx[1]], … (all of ls when idx is
// nil) into the licences table with one COPY in tx. The values are
// encoded here, in the binary format pgx's CopyFrom would send for
// licenceRow (the same bytes: text and bytea as they are, integers big
// endian, timestamptz as microseconds since 2000-01-01 UTC, NULL where
// licenceRow has NULL or a nil byte string), without a []any per row
// and without the round trip pgx spends describing the table.
func copyLicences(ctx context.Context, tx pgx.Tx, ls []store.Licence, idx []int) error {
	n := len(ls)
	if idx != nil {
		n = len(idx)
	}
	return mapErr(copyBinary(ctx, tx, copyLicencesSQL, n, func(b []byte, j int) ([]byte, error) {
		if idx != nil {
			j = idx[j]
		}
		return appendLicenceRow(b, &ls[j])
	}))
}

// copyBinary runs sql, a COPY … FROM STDIN BINARY, in tx with n rows,
// row j encoded as one tuple by row, and checks that n rows were written.
func copyBinary(ctx context.Context, tx pgx.Tx, sql string, n int, row func(b []byte, j int) ([]byte, error)) error {
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, &binaryCopy{n: n, row: row}, sql)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != int64(n) {
		return fmt.Errorf("%s: %d of %d rows written", sql, tag.RowsAffected(), n)
	}
	return nil
}

// binaryCopy is a binary COPY stream, encoded as pgconn reads it.
type binaryCopy struct {
	n, next int // rows, and the next row to encode
	row     func(b []byte, j int) ([]byte, error)
	started bool
	ended   bool
	buf     []byte
	off     int
}

// copyChunk is about how much is encoded ahead of a read.
const copyChunk = 64 << 10

// binaryCopyHeader opens a binary COPY stream: signature, flags, no
// header extension.
var binaryCopyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

func (c *binaryCopy) Read(p []byte) (int, error) {
	if c.off == len(c.buf) {
		if c.ended {
			return 0, io.EOF
		}
		c.buf, c.off = c.buf[:0], 0
		if !c.started {
			c.buf = append(c.buf, binaryCopyHeader...)
			c.started = true
		}
		for c.next < c.n && len(c.buf) < copyChunk {
			var err error
			if c.buf, err = c.row(c.buf, c.next); err != nil {
				return 0, err
			}
			c.next++
		}
		if c.next == c.n {
			c.buf = binary.BigEndian.AppendUint16(c.buf, 0xffff) // trailer: -1
			c.ended = true
		}
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// appendLicenceRow appends l as one binary COPY tuple of
// licenceColumnList, the values of licenceRow.
func appendLicenceRow(b []byte, l *store.Licence) ([]byte, error) {
	if l.Version < math.MinInt32 || l.Version > math.MaxInt32 || l.StatusIndex < math.MinInt32 || l.StatusIndex > math.MaxInt32 {
		return b, fmt.Errorf("licence %s: version %d or status index %d out of range", l.ID, l.Version, l.StatusIndex)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(licenceColumnList)))
	b = copyText(b, l.ID)
	b = copyText(b, l.DepartmentCode)
	b = copyText(b, l.TypeCode)
	b = copyUint(b, 8, uint64(l.Serial))
	b = copyUint(b, 4, uint64(uint32(int32(l.Version))))
	b = copyText(b, l.HolderName)
	b = copyText(b, l.HolderKind)
	b = copyText(b, l.HolderCode)
	b = copyBytes(b, bytesOf(l.Fields))
	b = copyTime(b, l.ValidFrom, false)
	b = copyTime(b, store.Timestamp(l.ValidUntil), true)
	b = copyTime(b, l.IssuedAt, false)
	b = copyUint(b, 2, uint64(uint16(int16(l.Status))))
	b = copyText(b, l.StatusListID)
	b = copyUint(b, 4, uint64(uint32(int32(l.StatusIndex))))
	b = copyBytes(b, l.Credential)
	b = copyBytes(b, l.RecordDigest)
	b = copyNullText(b, l.Supersedes)
	b = copyNullText(b, l.StatusReason)
	b = copyTime(b, store.Timestamp(l.StatusChangedAt), true)
	b = copyTime(b, l.UpdatedAt, false)
	b = copyBytes(b, bytesOf(l.Record))
	return b, nil
}

// appendAuditRow appends e as one binary COPY tuple of audit_log's
// columns seq, at, actor, action, subject, detail, prev_hash, hash.
func appendAuditRow(b []byte, e *store.AuditEntry) []byte {
	b = binary.BigEndian.AppendUint16(b, 8)
	b = copyUint(b, 8, uint64(e.Seq))
	b = copyTime(b, e.Time, false)
	b = copyText(b, e.Actor)
	b = copyText(b, e.Action)
	b = copyText(b, e.Subject)
	b = copyBytes(b, bytesOf(e.Detail))
	b = copyBytes(b, e.PrevHash)
	return copyBytes(b, e.Hash)
}

// copyLookupsSQL copies the rows appendLookupRow encodes.
const copyLookupsSQL = "COPY tlog_lookup (hash, batch, pos) FROM STDIN BINARY"

// appendLookupRow appends the lookup row of a leaf (its hash, its
// append's batch number, its position in the append) as one binary COPY
// tuple of copyLookupsSQL's columns.
func appendLookupRow(b []byte, hash []byte, batch int64, pos int) []byte {
	b = binary.BigEndian.AppendUint16(b, 3)
	b = copyBytes(b, hash)
	b = copyUint(b, 8, uint64(batch))
	return copyUint(b, 4, uint64(uint32(pos)))
}

// copyRowKeysSQL copies the rows appendRowKey encodes.
const copyRowKeysSQL = "COPY idempotency_keys (department_code, key, request_hash, licence_id, created_at) FROM STDIN BINARY"

// appendRowKey appends a bulk row's idempotency key as one binary COPY
// tuple of copyRowKeysSQL's columns.
func appendRowKey(b []byte, dept, key string, hash []byte, id string, at time.Time) []byte {
	b = binary.BigEndian.AppendUint16(b, 5)
	b = copyText(b, dept)
	b = copyText(b, key)
	b = copyBytes(b, hash)
	b = copyText(b, id)
	return copyTime(b, at, false)
}

// copyNull is a NULL field: length -1.
func copyNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, math.MaxUint32) }

func copyText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// copyNullText is s, or NULL for "" (nullString).
func copyNullText(b []byte, s string) []byte {
	if s == "" {
		return copyNull(b)
	}
	return copyText(b, s)
}

// copyBytes is a bytea; nil is NULL, as pgx sends it.
func copyBytes(b, v []byte) []byte {
	if v == nil {
		return copyNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// copyUint is an integer of size bytes (2, 4 or 8), big endian.
func copyUint(b []byte, size int, v uint64) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	switch size {
	case 2:
		return binary.BigEndian.AppendUint16(b, uint16(v))
	case 4:
		return binary.BigEndian.AppendUint32(b, uint32(v))
	}
	return binary.BigEndian.AppendUint64(b, v)
}

// microsecFromUnixEpochToY2K is 2000-01-01 00:00:00 UTC in microseconds
// since the Unix epoch (pgtype's constant).
const microsecFromUnixEpochToY2K = 946684800 * 1000000

// copyTime is a timestamptz as pgtype encodes it: whole microseconds since
// 2000-01-01 UTC (the nanoseconds truncated); the zero time is NULL when
// null is set (nullTime) and else encoded as it is.
func copyTime(b []byte, t time.Time, null bool) []byte {
	if null && t.IsZero() {
		return copyNull(b)
	}
	us := t.Unix()*1000000 + int64(t.Nanosecond())/1000 - microsecFromUnixEpochToY2K
	return copyUint(b, 8, uint64(us))
}
