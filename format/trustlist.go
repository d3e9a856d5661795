package format

import (
	"bytes"
	"crypto"
	"fmt"
	"strings"
	"time"
)

// KeyState is a department key's state in the trust list.
type KeyState uint8

// Key states. A signer's own time is no proof of when it signed, so a
// verifier fails everything a compromised key signed, whatever time it
// claims (unless independent evidence shows it existed before Since); a
// retired key signs nothing new: a verifier accepts only credentials that
// claim a time before Since, and no short-lived object (status list,
// presentation, annotated copy) at all. See docs/FORMAT.md §10.
const (
	KeyActive      KeyState = 0
	KeyRetired     KeyState = 1
	KeyCompromised KeyState = 2
)

// String returns "active", "retired" or "compromised".
func (s KeyState) String() string {
	switch s {
	case KeyActive:
		return "active"
	case KeyRetired:
		return "retired"
	case KeyCompromised:
		return "compromised"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// TrustList is the root-signed list of departments, their keys and the
// licence types each may issue.
type TrustList struct {
	Kind Kind `cbor:"0,keyasint"`
	// Sequence increases with every publication; a verifier never goes back.
	Sequence uint64 `cbor:"1,keyasint"`
	// IssuedAt and NextUpdate (Unix seconds) bound the list's freshness.
	IssuedAt   int64 `cbor:"2,keyasint"`
	NextUpdate int64 `cbor:"3,keyasint"`
	// Departments admitted to issue licences.
	Departments []Department `cbor:"4,keyasint"`
	// Types is the licence-type catalogue: names and field labels for display.
	Types []TypeInfo `cbor:"5,keyasint,omitempty"`
	// Witness is the trust-list operator's witness key, which co-signs the
	// departments' issuance-log checkpoints (docs/FORMAT.md §17); nil when
	// no department keeps a log.
	Witness *WitnessKey `cbor:"6,keyasint,omitempty"`
}

// WitnessKey names the witness that co-signs issuance-log checkpoints
// (C2SP tlog-cosignature, docs/FORMAT.md §17).
type WitnessKey struct {
	// Name is the key name written in its cosignature lines (a C2SP
	// signed-note key name: printable, no space, no "+").
	Name string `cbor:"1,keyasint"`
	// PublicKey is the witness's SM2 SubjectPublicKeyInfo DER.
	PublicKey []byte `cbor:"2,keyasint"`
}

// DepartmentLog is where a department's issuance log is published and the
// key that signs its checkpoints (docs/FORMAT.md §17).
type DepartmentLog struct {
	// Origin is the log's checkpoint origin line and the name of its
	// checkpoint key: 1–255 printable ASCII bytes, no space, no "+".
	Origin string `cbor:"1,keyasint"`
	// URL is the prefix under which the log's checkpoint, tiles, entry
	// bundles and lookups are served; it ends with "/".
	URL string `cbor:"2,keyasint"`
	// PublicKey is the SM2 SubjectPublicKeyInfo DER of the key that signs
	// the log's checkpoints (not one of the department's signing keys).
	PublicKey []byte `cbor:"3,keyasint"`
}

// Department is one issuing department in the trust list.
type Department struct {
	Code string `cbor:"1,keyasint"`
	Name string `cbor:"2,keyasint"`
	// Keys are the department's signing keys, in any state.
	Keys []TrustedKey `cbor:"3,keyasint"`
	// Types are the licence type codes the department may issue.
	Types []string `cbor:"4,keyasint"`
	// StatusURL is where the department's status lists are published, with
	// "{list}" standing for the list identifier.
	StatusURL string `cbor:"5,keyasint,omitempty"`
	// Documents is true when the department may sign documents (docs/FORMAT.md
	// §16): a verifier refuses a document receipt of any other department.
	Documents bool `cbor:"6,keyasint,omitempty"`
	// Log is the department's issuance log; nil when it keeps none.
	Log *DepartmentLog `cbor:"7,keyasint,omitempty"`
}

// TrustedKey is a department signing key.
type TrustedKey struct {
	// ID is the key ID (8 bytes).
	ID []byte `cbor:"1,keyasint"`
	// PublicKey is the SubjectPublicKeyInfo DER.
	PublicKey []byte   `cbor:"2,keyasint"`
	State     KeyState `cbor:"3,keyasint"`
	// Since is when the key was retired or compromised, Unix seconds.
	Since int64 `cbor:"4,keyasint,omitempty"`
	// Certificate is the key's X.509 certificate, signed by the root.
	Certificate []byte `cbor:"5,keyasint,omitempty"`
}

// TypeInfo describes a licence type for display and, when it has a
// number, names the type that compact credentials carrying that number
// have.
type TypeInfo struct {
	Code      string       `cbor:"1,keyasint"`
	Name      string       `cbor:"2,keyasint"`
	Authority string       `cbor:"3,keyasint,omitempty"`
	Fields    []FieldLabel `cbor:"4,keyasint,omitempty"`
	// Number is the type's catalogue number, which compact credentials
	// carry in place of the code: given once by the trust-list operator,
	// never changed and never given to another type (a verifier that has
	// seen a number refuses a later list that maps it to another code).
	// Zero: the type has none, and is issued only as a version-1
	// credential.
	Number uint32 `cbor:"5,keyasint,omitempty"`
}

// FieldLabel names a credential field key for display.
type FieldLabel struct {
	_     struct{} `cbor:",toarray"`
	Key   string
	Label string
}

// Department returns the department with the given code, or nil.
func (t *TrustList) Department(code string) *Department {
	for i := range t.Departments {
		if t.Departments[i].Code == code {
			return &t.Departments[i]
		}
	}
	return nil
}

// Type returns the catalogue entry for a licence type code, or nil.
func (t *TrustList) Type(code string) *TypeInfo {
	for i := range t.Types {
		if t.Types[i].Code == code {
			return &t.Types[i]
		}
	}
	return nil
}

// TypeNumbered returns the catalogue entry with the given number, or nil.
// Validate keeps numbers unique within a list.
func (t *TrustList) TypeNumbered(n uint32) *TypeInfo {
	if n == 0 {
		return nil
	}
	for i := range t.Types {
		if t.Types[i].Number == n {
			return &t.Types[i]
		}
	}
	return nil
}

// KeyByShortID returns the one key in the whole list whose ID starts with
// short, and its department. It returns n, the number of keys that match:
// the key is set only when n is 1 (none or an ambiguous prefix is no key).
func (t *TrustList) KeyByShortID(short []byte) (d *Department, k *TrustedKey, n int) {
	if len(short) == 0 {
		return nil, nil, 0
	}
	for i := range t.Departments {
		for j := range t.Departments[i].Keys {
			if bytes.HasPrefix(t.Departments[i].Keys[j].ID, short) {
				n++
				d, k = &t.Departments[i], &t.Departments[i].Keys[j]
			}
		}
	}
	if n != 1 {
		return nil, nil, n
	}
	return d, k, n
}

// Key returns the department's key with the given ID, or nil.
func (d *Department) Key(id []byte) *TrustedKey {
	for i := range d.Keys {
		if bytes.Equal(d.Keys[i].ID, id) {
			return &d.Keys[i]
		}
	}
	return nil
}

// MayIssue reports whether the department may issue the licence type.
func (d *Department) MayIssue(typeCode string) bool {
	for _, t := range d.Types {
		if t == typeCode {
			return true
		}
	}
	return false
}

// ClaimedBefore reports whether a claimed signing time at lies before the
// key's Since time; always true for an active key. The claim is the
// signer's own: it tells a retired key's old credentials from new ones
// only as far as the retired private key was destroyed, and it is no
// evidence at all for a compromised key.
func (k *TrustedKey) ClaimedBefore(at time.Time) bool {
	if k.State == KeyActive {
		return true
	}
	return at.Unix() < k.Since
}

// validLogName reports whether name may be a signed-note key name or a
// checkpoint origin: 1–255 printable ASCII bytes, no space and no "+".
func validLogName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == '+' {
			return false
		}
	}
	return true
}

// Validate checks the trust list's consistency.
func (t *TrustList) Validate() error {
	if t.NextUpdate <= t.IssuedAt {
		return fmt.Errorf("next update must be after issued at")
	}
	if w := t.Witness; w != nil {
		if !validLogName(w.Name) || len(w.PublicKey) == 0 {
			return fmt.Errorf("witness needs a key name (printable, no space or +) and a public key")
		}
	}
	origins := map[string]string{}
	numbered := map[uint32]string{}
	for _, ti := range t.Types {
		if ti.Number == 0 {
			continue
		}
		if other, dup := numbered[ti.Number]; dup {
			return fmt.Errorf("catalogue number %d given to types %s and %s", ti.Number, other, ti.Code)
		}
		numbered[ti.Number] = ti.Code
	}
	seen := map[string]bool{}
	// owner maps each public key (and each key ID within a department) to
	// the department that lists it, so that a key listed twice is found.
	owner := map[string]string{}
	for _, d := range t.Departments {
		if d.Code == "" || seen[d.Code] {
			return fmt.Errorf("department code %q empty or repeated", d.Code)
		}
		seen[d.Code] = true
		if l := d.Log; l != nil {
			if !validLogName(l.Origin) || len(l.PublicKey) == 0 || !strings.HasSuffix(l.URL, "/") {
				return fmt.Errorf("department %s: log needs an origin (printable, no space or +), a URL ending in / and a checkpoint key", d.Code)
			}
			if other, dup := origins[l.Origin]; dup {
				return fmt.Errorf("department %s: log origin %q already used by department %s", d.Code, l.Origin, other)
			}
			origins[l.Origin] = d.Code
			if t.Witness == nil {
				return fmt.Errorf("department %s has a log but the list names no witness", d.Code)
			}
		}
		ids := map[string]bool{}
		for _, k := range d.Keys {
			if len(k.ID) != 8 || len(k.PublicKey) == 0 {
				return fmt.Errorf("department %s: key needs an 8-byte id and a public key", d.Code)
			}
			if ids[string(k.ID)] {
				return fmt.Errorf("department %s: key id %x: %w", d.Code, k.ID, ErrDuplicateKey)
			}
			ids[string(k.ID)] = true
			if other, dup := owner[string(k.PublicKey)]; dup {
				return fmt.Errorf("department %s: key %x already listed under department %s: %w", d.Code, k.ID, other, ErrDuplicateKey)
			}
			owner[string(k.PublicKey)] = d.Code
			if k.State > KeyCompromised {
				return fmt.Errorf("department %s: key %x: unknown state %d", d.Code, k.ID, k.State)
			}
			if k.State != KeyActive && k.Since == 0 {
				return fmt.Errorf("department %s: key %x is %s but has no since time", d.Code, k.ID, k.State)
			}
			if k.State == KeyActive && k.Since != 0 {
				return fmt.Errorf("department %s: key %x is active but has a since time (only retired and compromised keys have one)", d.Code, k.ID)
			}
		}
	}
	return nil
}

// SignTrustList validates t, sets its kind and signs it with the root key.
func SignTrustList(root crypto.Signer, t TrustList) (Signed, error) {
	t.Kind = KindTrustList
	if err := t.Validate(); err != nil {
		return Signed{}, fmt.Errorf("trust list: %w", err)
	}
	return seal(root, t)
}

// ParseTrustList decodes a signed trust list without verifying it.
func ParseTrustList(b []byte) (Signed, *TrustList, error) {
	s, err := ParseSigned("trust list", b)
	if err != nil {
		return s, nil, err
	}
	var t TrustList
	if err := decodePayload("trust list", s.Payload, KindTrustList, &t); err != nil {
		return s, nil, err
	}
	if err := t.Validate(); err != nil {
		return s, nil, &ParseError{What: "trust list", Problem: ProblemFormat, Err: err}
	}
	return s, &t, nil
}
