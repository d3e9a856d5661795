package verifier

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"elicence/format"
	"elicence/keys"
)

// Trust is a trust list whose root signature has verified, indexed for
// lookups, with the time it was obtained.
type Trust struct {
	List *format.TrustList
	// Raw is the signed trust list as fetched.
	Raw       []byte
	FetchedAt time.Time
	depts     map[string]*trustedDept
	// short indexes every key by its short key ID (format.ShortKeyIDSize
	// bytes): the department and key, or nil when several keys share it.
	short map[[format.ShortKeyIDSize]byte]*shortEntry
}

// shortEntry is the one key that a short key ID names, or none (ambiguous).
type shortEntry struct {
	dept *trustedDept
	key  *trustedKey
	n    int
}

type trustedDept struct {
	dept *format.Department
	keys map[keys.ID]*trustedKey
}

type trustedKey struct {
	entry *format.TrustedKey
	pub   *ecdsa.PublicKey
	id    string
	// za is the SM2 ZA value of pub with the default distinguishing ID
	// (GB/T 32918.2 §5.5), computed once so that each verification hashes
	// only ZA and the message.
	za []byte
}

// verify reports whether sig (raw r‖s) is an SM2 signature of msg by the
// key: e = SM3(ZA ‖ msg), then the SM2 verification of e. It gives the same
// answer as keys.Verify, without recomputing ZA or going through big.Int.
func (k *trustedKey) verify(msg, sig []byte) bool {
	if len(sig) != keys.SignatureSize {
		return false
	}
	e := k.digest(msg)
	var der [2 + 2*(2+1+32)]byte
	return sm2.VerifyASN1(k.pub, e[:], derSignature(der[:0], sig))
}

// digest returns the SM2 digest e = SM3(ZA ‖ msg) of msg under the key.
func (k *trustedKey) digest(msg []byte) [sm3.Size]byte {
	h := sm3.New()
	h.Write(k.za)
	h.Write(msg)
	var e [sm3.Size]byte
	h.Sum(e[:0])
	return e
}

// derSignature appends the ASN.1 DER form of a raw r‖s signature to dst.
func derSignature(dst, sig []byte) []byte {
	integer := func(b []byte) []byte {
		for len(b) > 1 && b[0] == 0 {
			b = b[1:]
		}
		return b
	}
	r, s := integer(sig[:32]), integer(sig[32:])
	pad := func(b []byte) int { return int(b[0] >> 7) }
	dst = append(dst, 0x30, byte(4+len(r)+pad(r)+len(s)+pad(s)))
	for _, n := range [][]byte{r, s} {
		dst = append(dst, 0x02, byte(len(n)+pad(n)))
		if pad(n) == 1 {
			dst = append(dst, 0)
		}
		dst = append(dst, n...)
	}
	return dst
}

// NewTrust parses raw, verifies it under the pinned root key and indexes it.
func NewTrust(root *ecdsa.PublicKey, raw []byte, fetchedAt time.Time) (*Trust, error) {
	s, tl, err := format.ParseTrustList(raw)
	if err != nil {
		return nil, err
	}
	if err := s.Verify(root); err != nil {
		return nil, fmt.Errorf("trust list: root %w", err)
	}
	t := &Trust{List: tl, Raw: raw, FetchedAt: fetchedAt, depts: make(map[string]*trustedDept, len(tl.Departments)),
		short: map[[format.ShortKeyIDSize]byte]*shortEntry{}}
	for i := range tl.Departments {
		d := &tl.Departments[i]
		td := &trustedDept{dept: d, keys: make(map[keys.ID]*trustedKey, len(d.Keys))}
		for j := range d.Keys {
			k := &d.Keys[j]
			pub, err := keys.ParsePublicKey(k.PublicKey)
			if err != nil {
				return nil, fmt.Errorf("trust list: department %s: %w", d.Code, err)
			}
			id := keys.IDOfDER(k.PublicKey)
			if string(id[:]) != string(k.ID) {
				return nil, fmt.Errorf("trust list: department %s: key id %x does not match its public key", d.Code, k.ID)
			}
			za, err := sm2.CalculateZA(pub, []byte(keys.DefaultUID))
			if err != nil {
				return nil, fmt.Errorf("trust list: department %s: %w", d.Code, err)
			}
			tk := &trustedKey{entry: k, pub: pub, id: id.String(), za: za}
			td.keys[id] = tk
			var sid [format.ShortKeyIDSize]byte
			copy(sid[:], id[:])
			if e := t.short[sid]; e != nil {
				e.n++
				e.dept, e.key = nil, nil
			} else {
				t.short[sid] = &shortEntry{dept: td, key: tk, n: 1}
			}
		}
		t.depts[d.Code] = td
	}
	return t, nil
}

// shortKey returns the department and key a compact credential's short key
// ID names, and how many keys of the list have that short ID: the key is set
// only when exactly one has.
func (t *Trust) shortKey(short []byte) (*trustedDept, *trustedKey, int) {
	if len(short) != format.ShortKeyIDSize {
		return nil, nil, 0
	}
	e := t.short[[format.ShortKeyIDSize]byte(short)]
	if e == nil {
		return nil, nil, 0
	}
	return e.dept, e.key, e.n
}

// Fresh reports whether the trust list may still be used at now.
func (t *Trust) Fresh(now time.Time) bool {
	return now.Unix() <= t.List.NextUpdate
}

// key returns the department and key for an issuer code and key ID.
func (t *Trust) key(issuer string, id []byte) (*trustedDept, *trustedKey) {
	d := t.depts[issuer]
	if d == nil {
		return nil, nil
	}
	var kid keys.ID
	if len(id) != len(kid) {
		return d, nil
	}
	copy(kid[:], id)
	return d, d.keys[kid]
}

// Status is a status list whose signature has verified, decompressed.
type Status struct {
	List    *format.StatusList
	Entries *format.Statuses
	// Details says why and when entries became revoked or suspended,
	// sorted by index; empty for a list without them.
	Details   []format.StatusDetail
	Raw       []byte
	FetchedAt time.Time
	// Source says how the list was obtained: "http", "stream" or "file".
	Source string
	// trustSeq is the sequence of the trust list it was verified under.
	trustSeq uint64
}

// NewStatus parses raw, verifies it with the issuing department's key from
// trust, and decompresses it. Only an active key may sign status lists: a
// list is short-lived and must be fresh, so one signed by a retired key is
// new (a retired key signs nothing new) and one signed by a compromised key
// is refused whatever issued-at it claims.
func NewStatus(trust *Trust, raw []byte, fetchedAt time.Time, source string) (*Status, error) {
	s, l, err := format.ParseStatusList(raw)
	if err != nil {
		return nil, err
	}
	k, err := trust.statusKey(l)
	if err != nil {
		return nil, err
	}
	if !k.verify(s.Payload, s.Signature) {
		return nil, fmt.Errorf("status list %s/%s: %w", l.Issuer, l.List, format.ErrSignature)
	}
	entries, err := l.Statuses()
	if err != nil {
		return nil, fmt.Errorf("status list %s/%s: %w", l.Issuer, l.List, err)
	}
	details, err := l.Details(entries)
	if err != nil {
		return nil, fmt.Errorf("status list %s/%s: %w", l.Issuer, l.List, err)
	}
	return &Status{List: l, Entries: entries, Details: details, Raw: raw, FetchedAt: fetchedAt, Source: source, trustSeq: trust.List.Sequence}, nil
}

// Errors of a status list's signing key under a trust list. A list whose
// key is not known yet (ErrStatusKeyUnknown) may be signed by a key that a
// newer trust list names.
var (
	ErrStatusKeyUnknown = errors.New("key not in the trust list")
	ErrStatusKeyState   = errors.New("key may not sign status lists")
)

// statusKey returns the key that must have signed l under t: a key of l's
// issuer in the trust list, and active.
func (t *Trust) statusKey(l *format.StatusList) (*trustedKey, error) {
	d, k := t.key(l.Issuer, l.KeyID)
	switch {
	case d == nil:
		return nil, fmt.Errorf("status list %s/%s: issuer not in the trust list: %w", l.Issuer, l.List, ErrStatusKeyUnknown)
	case k == nil:
		return nil, fmt.Errorf("status list %s/%s: key %x: %w", l.Issuer, l.List, l.KeyID, ErrStatusKeyUnknown)
	case k.entry.State != format.KeyActive:
		return nil, fmt.Errorf("status list %s/%s: key %x is %s since %s: %w", l.Issuer, l.List, l.KeyID, k.entry.State,
			time.Unix(k.entry.Since, 0).UTC().Format(time.RFC3339), ErrStatusKeyState)
	}
	return k, nil
}

// statusSigner reports whether t still vouches for the key that signed l
// (verified earlier, perhaps under another trust list).
func (t *Trust) statusSigner(l *format.StatusList) error {
	_, err := t.statusKey(l)
	return err
}

// IssuedAt returns when the list was signed.
func (s *Status) IssuedAt() time.Time { return time.Unix(s.List.IssuedAt, 0).UTC() }

// Expires returns when the list's time-to-live ends.
func (s *Status) Expires() time.Time {
	return s.IssuedAt().Add(time.Duration(s.List.TTL) * time.Second)
}
