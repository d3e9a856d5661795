package pdf

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"elicence/document/cms"
)

// Errors a signature or a file is reported with. The verifier maps them
// to sub-indications: ErrHash → HASH_FAILURE, cms.ErrSignature →
// SIG_CRYPTO_FAILURE, ErrByteRange and cms.ErrFormat → FORMAT_FAILURE,
// ErrAppended → TRAILING_DATA (never PASSED), ErrNoSignature →
// FORMAT_FAILURE, ErrUnsupported → not ours to judge (see [Report.Err]).
var (
	ErrNoSignature = errors.New("pdf has no sm2 signature")
	ErrByteRange   = errors.New("signature byte range is malformed or does not leave exactly the /Contents hole")
	ErrHash        = errors.New("signed bytes changed: the sm3 digest of the byte range differs from the signed one")
	ErrAppended    = errors.New("bytes appended after the last signed range that no verified signature covers")
	ErrUnsupported = errors.New("signature not in the sm2 profile (another algorithm or format)")
)

// Signature is one signature dictionary found in the file.
type Signature struct {
	// ByteRange is the signature's /ByteRange: [0 a b c] signs bytes
	// 0..a and b..b+c, and a..b is the /Contents hole.
	ByteRange [4]int64
	// End is the end of the signed bytes, b+c: the file as it was when
	// this signature was made is the first End bytes.
	End int64
	// CMS is the parsed SignedData (signer, signing time), nil when the
	// contents did not parse.
	CMS *cms.SignedData
	// Err is nil when the signature verifies over its range; otherwise
	// it wraps ErrByteRange, ErrHash, ErrUnsupported, cms.ErrFormat or
	// cms.ErrSignature.
	Err error
}

// Report is what Verify found.
type Report struct {
	// Size is the length of the file.
	Size int64
	// Signatures are all signature dictionaries, ordered by End.
	Signatures []Signature
	// Covered is the largest End of a signature that verifies: the
	// bytes after it (Size-Covered) are signed by nobody.
	Covered int64
}

// Appended returns the number of bytes after the last range a verified
// signature covers.
func (r *Report) Appended() int64 { return r.Size - r.Covered }

// Err is the first reason the file as a whole does not pass, nil when it
// does: at least one SM2 signature, every SM2 signature verifies over its
// range, and a verified signature's range reaches the end of the file
// (bytes after the last signature are allowed only when they are another
// signature that itself verifies). A signature in another profile (say an
// RSA signature the file carried before it was signed here) is covered by
// the later SM2 signature and does not fail the file; it is reported with
// ErrUnsupported in Signatures.
func (r *Report) Err() error {
	ours := 0
	for i, s := range r.Signatures {
		if errors.Is(s.Err, ErrUnsupported) {
			continue
		}
		ours++
		if s.Err != nil {
			return fmt.Errorf("signature %d: %w", i+1, s.Err)
		}
	}
	if ours == 0 {
		return ErrNoSignature
	}
	if n := r.Appended(); n > 0 {
		return fmt.Errorf("%w: %d bytes", ErrAppended, n)
	}
	return nil
}

// Verify finds every signature of pdf and checks each: its byte range
// starts at 0, leaves exactly the hex /Contents string as its hole and
// lies within the file; the SM3 of the range is the signed digest; the
// SM2 signature verifies with the signer certificate carried in the CMS.
// Whether the signer is trusted is the caller's question (the trust
// list's); this answers whether the bytes are what the signer signed.
//
// Signatures are found by their /ByteRange keys in the raw bytes, not by
// walking the object structure, so a file damaged inside a signed range
// still shows its signatures (and their hash failures) instead of a
// parse error; a stray /ByteRange that is no signature shows as
// ErrByteRange.
func Verify(pdf []byte) *Report {
	r := &Report{Size: int64(len(pdf))}
	key := []byte("/ByteRange")
	for off := 0; ; {
		i := bytes.Index(pdf[off:], key)
		if i < 0 {
			break
		}
		at := off + i + len(key)
		off = at
		r.Signatures = append(r.Signatures, verifyAt(pdf, at))
	}
	slices.SortStableFunc(r.Signatures, func(a, b Signature) int { return cmp.Compare(a.End, b.End) })
	for _, s := range r.Signatures {
		if s.Err == nil && s.End > r.Covered {
			r.Covered = s.End
		}
	}
	return r
}

func verifyAt(pdf []byte, at int) Signature {
	var s Signature
	br, ok := parseByteRange(pdf[at:])
	if !ok {
		s.Err = fmt.Errorf("%w: not four non-negative integers", ErrByteRange)
		return s
	}
	s.ByteRange = br
	size := int64(len(pdf))
	if br[2] > size || br[3] > size { // before adding them: no overflow
		s.Err = fmt.Errorf("%w: %v in a file of %d bytes", ErrByteRange, br, size)
		return s
	}
	s.End = br[2] + br[3]
	if br[0] != 0 || br[1] < 2 || br[2] < br[1]+2 || s.End > size {
		s.Err = fmt.Errorf("%w: %v in a file of %d bytes", ErrByteRange, br, size)
		return s
	}
	holeBytes := pdf[br[1]:br[2]]
	if holeBytes[0] != '<' || holeBytes[len(holeBytes)-1] != '>' {
		s.Err = fmt.Errorf("%w: the hole is not a hex string", ErrByteRange)
		return s
	}
	der := make([]byte, hex.DecodedLen(len(holeBytes)-2))
	if _, err := hex.Decode(der, holeBytes[1:len(holeBytes)-1]); err != nil {
		s.Err = fmt.Errorf("%w: the hole is not a hex string", ErrByteRange)
		return s
	}
	sd, err := cms.Parse(der)
	if err != nil {
		s.Err = fmt.Errorf("%w: %v", ErrUnsupported, err)
		return s
	}
	s.CMS = sd
	h := cms.Hasher()
	h.Write(pdf[:br[1]])
	h.Write(pdf[br[2]:s.End])
	if err := sd.VerifyDigest(h.Sum(nil)); err != nil {
		if errors.Is(err, cms.ErrDigest) {
			err = ErrHash
		}
		s.Err = err
	}
	return s
}

// parseByteRange reads "[a b c d]" after optional white space.
func parseByteRange(b []byte) ([4]int64, bool) {
	var out [4]int64
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '[' {
		return out, false
	}
	end := bytes.IndexByte(b, ']')
	if end < 0 || end > 120 {
		return out, false
	}
	f := bytes.Fields(b[1:end])
	if len(f) != 4 {
		return out, false
	}
	for i, x := range f {
		v, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil || v < 0 {
			return out, false
		}
		out[i] = v
	}
	return out, true
}
