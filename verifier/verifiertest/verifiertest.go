// Package verifiertest builds real signed trust lists, status lists and QR
// texts with fresh SM2 keys, and serves them from an issuer double over
// HTTP (trust list, status lists with ETags, revocation event stream), for
// tests and benchmarks of verifiers. Nothing in it is faked but the issuer's
// storage: every object is signed and encoded by package format.
package verifiertest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"elicence/format"
	"elicence/keys"
)

// Clock is a settable clock for tests; the zero value is not usable, use
// NewClock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Dept is an issuing department of a World.
type Dept struct {
	Code, Name string
	// Key is the department's current signing key.
	Key *sm2.PrivateKey
	// Keys are all its keys as the trust list lists them; Key is among them.
	Keys []format.TrustedKey
	// Types are the licence type codes it may issue.
	Types []string
	// StatusURL is published in the trust list; "{list}" stands for the list.
	StatusURL string
	// Log is the department's issuance log in the trust list (World.NewLog).
	Log *format.DepartmentLog
	// Documents makes the department a document signer in the trust list.
	Documents bool
}

// World is a root key with departments: everything needed to sign a trust
// list and the objects it vouches for.
type World struct {
	Root  *sm2.PrivateKey
	Depts []*Dept
	Types []format.TypeInfo
	// WitnessKey co-signs the departments' log checkpoints; the trust list
	// names it once a department has a log (World.NewLog).
	WitnessKey *sm2.PrivateKey
}

// Type codes of the world's licence types.
const (
	TypeA = "TYPEA001"
	TypeB = "TYPEB001"
)

// NewWorld returns a world with a new root key, the licence types TypeA and
// TypeB in its catalogue, and one department "DEPTA" that may issue TypeA.
func NewWorld(tb testing.TB) *World {
	tb.Helper()
	root, err := keys.Generate(nil)
	if err != nil {
		tb.Fatal(err)
	}
	w := &World{Root: root, Types: []format.TypeInfo{
		{Code: TypeA, Name: "测试执照", Authority: "测试局", Fields: []format.FieldLabel{{Key: "ad", Label: "住所"}}},
		{Code: TypeB, Name: "另一种执照"},
	}}
	w.AddDept(tb, "DEPTA", "甲部门", TypeA)
	return w
}

// RootPublic returns the root public key, which verifiers pin.
func (w *World) RootPublic() *ecdsa.PublicKey { return &w.Root.PublicKey }

// RootPEM returns the root public key as PEM.
func (w *World) RootPEM(tb testing.TB) []byte {
	b, err := keys.MarshalPublicKeyPEM(w.RootPublic())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// AddDept adds a department with a new active key.
func (w *World) AddDept(tb testing.TB, code, name string, types ...string) *Dept {
	tb.Helper()
	d := &Dept{Code: code, Name: name, Types: types}
	w.NewKey(tb, d)
	w.Depts = append(w.Depts, d)
	return d
}

// Dept returns the department with the given code, or nil.
func (w *World) Dept(code string) *Dept {
	for _, d := range w.Depts {
		if d.Code == code {
			return d
		}
	}
	return nil
}

// NewKey gives d a new active signing key, which becomes d.Key; the old
// keys stay in the trust list in their states.
func (w *World) NewKey(tb testing.TB, d *Dept) {
	tb.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := keys.MarshalPublicKeyDER(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	id := keys.IDOfDER(der)
	d.Key = k
	d.Keys = append(d.Keys, format.TrustedKey{ID: id[:], PublicKey: der, State: format.KeyActive})
}

// KeyID returns the ID of d's current key.
func (d *Dept) KeyID() []byte {
	for _, k := range d.Keys {
		if pub, err := keys.ParsePublicKey(k.PublicKey); err == nil && pub.Equal(&d.Key.PublicKey) {
			return k.ID
		}
	}
	panic("verifiertest: current key not among the department's keys")
}

// SetKeyState sets the state of d's current key, e.g. compromised since t.
func (d *Dept) SetKeyState(state format.KeyState, since time.Time) {
	id := d.KeyID()
	for i := range d.Keys {
		if string(d.Keys[i].ID) == string(id) {
			d.Keys[i].State, d.Keys[i].Since = state, since.Unix()
		}
	}
}

// TrustList returns the unsigned trust list of the world.
func (w *World) TrustList(seq uint64, issuedAt, nextUpdate time.Time) format.TrustList {
	tl := format.TrustList{Sequence: seq, IssuedAt: issuedAt.Unix(), NextUpdate: nextUpdate.Unix(), Types: w.Types}
	for _, d := range w.Depts {
		tl.Departments = append(tl.Departments, format.Department{
			Code: d.Code, Name: d.Name, Keys: append([]format.TrustedKey(nil), d.Keys...),
			Types: d.Types, StatusURL: d.StatusURL, Log: d.Log, Documents: d.Documents,
		})
		if d.Log != nil && tl.Witness == nil {
			der, err := keys.MarshalPublicKeyDER(&w.WitnessKey.PublicKey)
			if err != nil {
				panic(err)
			}
			tl.Witness = &format.WitnessKey{Name: WitnessName, PublicKey: der}
		}
	}
	return tl
}

// SignTrust signs the world's trust list with the root key.
func (w *World) SignTrust(tb testing.TB, seq uint64, issuedAt, nextUpdate time.Time) []byte {
	tb.Helper()
	s, err := format.SignTrustList(w.Root, w.TrustList(seq, issuedAt, nextUpdate))
	if err != nil {
		tb.Fatal(err)
	}
	return s.Encode()
}

// SignStatus signs a status list of d with size entries, all valid but
// those in set.
func (w *World) SignStatus(tb testing.TB, d *Dept, list string, size int, issuedAt time.Time, ttl time.Duration, set map[uint32]format.Status) []byte {
	tb.Helper()
	st := format.NewStatuses(size, format.StatusBits)
	for i, v := range set {
		st.Set(int(i), v)
	}
	return w.SignEntries(tb, d, list, st, issuedAt, ttl)
}

// SignEntries signs a status list of d with the given entries.
func (w *World) SignEntries(tb testing.TB, d *Dept, list string, st *format.Statuses, issuedAt time.Time, ttl time.Duration) []byte {
	tb.Helper()
	s, err := format.SignStatusList(d.Key, format.StatusList{
		Issuer: d.Code, List: list, IssuedAt: issuedAt.Unix(), TTL: uint32(ttl / time.Second),
		Bits: format.StatusBits, Size: uint32(st.Len()), Lst: st.Compress(), KeyID: d.KeyID(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s.Encode()
}

// Credential returns an unsigned credential of d, of d's first licence
// type, valid for a year from a day before issuedAt, in status list list at
// index.
func (w *World) Credential(d *Dept, serial, list string, index uint32, issuedAt time.Time) format.Credential {
	digest := make([]byte, 16)
	rand.Read(digest)
	typ := TypeA
	if len(d.Types) > 0 {
		typ = d.Types[0]
	}
	return format.Credential{
		TypeCode: typ, IssuerCode: d.Code, Serial: serial, Version: 1,
		HolderName: "张三", HolderID: "3501**********1234",
		ValidFrom: issuedAt.Add(-24 * time.Hour).Unix(), ValidUntil: issuedAt.Add(365 * 24 * time.Hour).Unix(),
		IssuedAt: issuedAt.Unix(), Status: format.StatusRef{List: list, Index: index},
		KeyID: d.KeyID(), RecordDigest: digest, Fields: map[string]string{"ad": "福州市鼓楼区"},
	}
}

// Sign signs c with d's current key and returns the signed envelope.
func (w *World) Sign(tb testing.TB, d *Dept, c format.Credential) format.Signed {
	tb.Helper()
	s, err := format.SignCredential(d.Key, c)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// QR signs c with d's current key and returns its QR text.
func (w *World) QR(tb testing.TB, d *Dept, c format.Credential) string {
	tb.Helper()
	return format.QRText(format.KindCredential, w.Sign(tb, d, c))
}

// PresentationQR wraps a signed credential in a dynamic presentation token
// valid from notBefore for validity, signed by d.
func (w *World) PresentationQR(tb testing.TB, d *Dept, cred format.Signed, notBefore time.Time, validity time.Duration) string {
	tb.Helper()
	s, err := format.SignPresentation(d.Key, format.Presentation{
		Credential: cred.Encode(), NotBefore: notBefore.Unix(), Expires: notBefore.Add(validity).Unix(), Nonce: nonce(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return format.QRText(format.KindPresentation, s)
}

// AnnotatedQR makes an annotated copy of a signed credential for the
// relying department and purpose, signed by d.
func (w *World) AnnotatedQR(tb testing.TB, d *Dept, cred format.Signed, relying, purpose string, issuedAt time.Time, validity time.Duration) string {
	tb.Helper()
	s, err := format.SignAnnotatedCopy(d.Key, format.AnnotatedCopy{
		Credential: cred.Encode(), Relying: relying, Purpose: purpose,
		IssuedAt: issuedAt.Unix(), Expires: issuedAt.Add(validity).Unix(), Nonce: nonce(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return format.QRText(format.KindAnnotatedCopy, s)
}

func nonce() []byte {
	b := make([]byte, 8)
	rand.Read(b)
	return b
}

// Serial returns a serial number text for n.
func Serial(n int) string { return fmt.Sprintf("%08d", n) }
