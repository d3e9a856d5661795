package format

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"fmt"
	"io"
)

// Status is a licence's entry in a status list. The values are those of the
// IETF Token Status List draft.
type Status uint8

// Status values.
const (
	StatusValid     Status = 0
	StatusRevoked   Status = 1
	StatusSuspended Status = 2
)

// String returns "valid", "revoked", "suspended" or "status(n)".
func (s Status) String() string {
	switch s {
	case StatusValid:
		return "valid"
	case StatusRevoked:
		return "revoked"
	case StatusSuspended:
		return "suspended"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// StatusBits is the number of bits per entry in elicence status lists.
const StatusBits = 2

// MinStatusListSize is the least number of entries a status list has, so
// that fetching one reveals little about which licence is being checked.
const MinStatusListSize = 1 << 17

// MaxStatusListSize bounds a list so that decompression stays small.
const MaxStatusListSize = 1 << 22

// Statuses is an uncompressed status array with the IETF Token Status List
// bit layout: entry i occupies bits (i*bits)%8 … of byte i*bits/8, least
// significant bits first.
type Statuses struct {
	bits int
	size int
	data []byte
}

// NewStatuses returns size entries of bits (1, 2, 4 or 8) bits, all 0.
func NewStatuses(size, bits int) *Statuses {
	return &Statuses{bits: bits, size: size, data: make([]byte, (size*bits+7)/8)}
}

// Len returns the number of entries.
func (s *Statuses) Len() int { return s.size }

// Get returns entry i. It panics if i is out of range.
func (s *Statuses) Get(i int) Status {
	if i < 0 || i >= s.size {
		panic(fmt.Sprintf("status index %d out of range [0,%d)", i, s.size))
	}
	bit := i * s.bits
	return Status((s.data[bit/8] >> (bit % 8)) & (1<<s.bits - 1))
}

// Set sets entry i to v.
func (s *Statuses) Set(i int, v Status) {
	if i < 0 || i >= s.size {
		panic(fmt.Sprintf("status index %d out of range [0,%d)", i, s.size))
	}
	bit := i * s.bits
	mask := byte(1<<s.bits-1) << (bit % 8)
	s.data[bit/8] = s.data[bit/8]&^mask | (byte(v)<<(bit%8))&mask
}

// Bytes returns the uncompressed byte array.
func (s *Statuses) Bytes() []byte { return s.data }

// Compress returns the byte array compressed with DEFLATE in the ZLIB data
// format (RFC 1950), as the draft's "lst" requires.
func (s *Statuses) Compress() []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	w.Write(s.data)
	w.Close()
	return buf.Bytes()
}

// DecompressStatuses inflates a ZLIB "lst" into size entries of bits bits.
// It refuses data that inflates to more or fewer bytes than size needs.
func DecompressStatuses(lst []byte, size, bits int) (*Statuses, error) {
	switch bits {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("bits %d, want 1, 2, 4 or 8", bits)
	}
	if size <= 0 || size > MaxStatusListSize*(8/bits) {
		return nil, fmt.Errorf("size %d out of range", size)
	}
	br := bytes.NewReader(lst)
	r, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	want := (size*bits + 7) / 8
	// Reading past want to the end of the stream checks its Adler-32.
	data, err := io.ReadAll(io.LimitReader(r, int64(want)+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(data) != want {
		return nil, fmt.Errorf("inflates to %d bytes, want %d", len(data), want)
	}
	// lst is one zlib stream and nothing else (docs/FORMAT.md §9). The
	// inflater reads a bytes.Reader byte by byte, so what is left in br
	// follows the stream.
	if n := br.Len(); n > 0 {
		return nil, fmt.Errorf("%d bytes after the zlib stream", n)
	}
	return &Statuses{bits: bits, size: size, data: data}, nil
}

// StatusList is a signed, compressed status list of one issuer.
type StatusList struct {
	Kind Kind `cbor:"0,keyasint"`
	// Issuer is the issuing department's code.
	Issuer string `cbor:"1,keyasint"`
	// List is the list's identifier within the issuer.
	List string `cbor:"2,keyasint"`
	// IssuedAt is when the list was signed (Unix seconds); it never goes backwards.
	IssuedAt int64 `cbor:"3,keyasint"`
	// TTL is how long, in seconds after IssuedAt, the list may be used.
	TTL uint32 `cbor:"4,keyasint"`
	// Bits per entry; always 2 in elicence.
	Bits uint8 `cbor:"5,keyasint"`
	// Size is the number of entries.
	Size uint32 `cbor:"6,keyasint"`
	// Lst is the ZLIB-compressed byte array.
	Lst []byte `cbor:"7,keyasint"`
	// KeyID identifies the department key that signed the list.
	KeyID []byte `cbor:"8,keyasint"`
	// Dtl holds why and when entries became revoked or suspended
	// (StatusDetail, see Details and CompressDetails); omitted when there
	// are none.
	Dtl []byte `cbor:"9,keyasint,omitempty"`
}

// Statuses decompresses the list.
func (l *StatusList) Statuses() (*Statuses, error) {
	return DecompressStatuses(l.Lst, int(l.Size), int(l.Bits))
}

// Validate checks the list's header; it does not inflate the list.
func (l *StatusList) Validate() error {
	if l.Bits != StatusBits {
		return fmt.Errorf("bits %d, want %d", l.Bits, StatusBits)
	}
	if l.Size < MinStatusListSize || l.Size > MaxStatusListSize {
		return fmt.Errorf("size %d outside [%d, %d]", l.Size, MinStatusListSize, MaxStatusListSize)
	}
	if l.Issuer == "" || l.List == "" || l.TTL == 0 || len(l.KeyID) != 8 || l.IssuedAt <= 0 {
		return fmt.Errorf("issuer, list, ttl, key id and issued at are required")
	}
	return nil
}

// SignStatusList validates l, sets its kind and signs it with the issuer key.
func SignStatusList(signer crypto.Signer, l StatusList) (Signed, error) {
	l.Kind = KindStatusList
	if err := l.Validate(); err != nil {
		return Signed{}, fmt.Errorf("status list: %w", err)
	}
	return seal(signer, l)
}

// ParseStatusList decodes a signed status list without verifying it. The
// compressed entries are checked to inflate to exactly Size entries.
func ParseStatusList(b []byte) (Signed, *StatusList, error) {
	s, err := ParseSigned("status list", b)
	if err != nil {
		return s, nil, err
	}
	var l StatusList
	if err := decodePayload("status list", s.Payload, KindStatusList, &l); err != nil {
		return s, nil, err
	}
	if err := l.Validate(); err != nil {
		return s, nil, &ParseError{What: "status list", Problem: ProblemFormat, Err: err}
	}
	return s, &l, nil
}
