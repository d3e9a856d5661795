// Package issuertest sets up issuer services for tests: real stores (an
// SQLite file in a temporary directory, or a fresh PostgreSQL database
// from pgtest), the demonstration catalogue, two departments with signing
// keys and a set of API tokens. Keys are made once per test binary, so
// that the slow passphrase encryption of private keys is paid once.
package issuertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"elicence/issuer"
	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/issuer/store/sqlite"
	"elicence/keys"
)

// Passphrase encrypts the test department keys.
const Passphrase = "issuertest passphrase"

// Department codes of the fixture: Dept may issue every demo type, Other
// only the driving licence.
const (
	Dept  = issuer.DemoDepartmentCode
	Other = issuer.DemoDepartment2Code
)

// Token names of Fixture.Tokens.
const (
	TokenIssuer    = "issuer"     // Dept: issue, revoke, read
	TokenReader    = "reader"     // Dept: read
	TokenIssueOnly = "issue-only" // Dept: issue
	TokenOther     = "other"      // Other: issue, revoke, read
	TokenOperator  = "operator"   // operator
)

type keySet struct {
	root     keys.Pair
	deptPEM  map[string][]byte
	deptCert map[string][]byte
	opened   sync.Map // string(pem) → *sm2.PrivateKey
}

var (
	once sync.Once
	ks   *keySet
	kerr error
)

func testKeys() (*keySet, error) {
	once.Do(func() {
		now := time.Now()
		s := &keySet{deptPEM: map[string][]byte{}, deptCert: map[string][]byte{}}
		rk, err := keys.Generate(nil)
		if err != nil {
			kerr = err
			return
		}
		rc, err := keys.NewRootCertificate(rk, keys.Subject{Code: issuer.DemoRootCode, Name: issuer.DemoRootName}, now)
		if err != nil {
			kerr = err
			return
		}
		cert, err := keys.ParseCertificate(rc)
		if err != nil {
			kerr = err
			return
		}
		s.root = keys.Pair{Key: rk, Cert: cert}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, d := range []keys.Subject{{Code: Dept, Name: issuer.DemoDepartmentName}, {Code: Other, Name: issuer.DemoDepartment2Name}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := keys.Generate(nil)
				if err != nil {
					kerr = err
					return
				}
				c, err := keys.NewIssuerCertificate(rc, rk, &k.PublicKey, d, now)
				if err != nil {
					kerr = err
					return
				}
				pem, err := keys.MarshalPrivateKey(k, []byte(Passphrase))
				if err != nil {
					kerr = err
					return
				}
				mu.Lock()
				s.deptPEM[d.Code], s.deptCert[d.Code] = pem, c
				mu.Unlock()
				s.opened.Store(string(pem), k)
			}()
		}
		wg.Wait()
		ks = s
	})
	return ks, kerr
}

// DecryptKey opens the fixture's keys at once and any other key with
// keys.ParsePrivateKey.
func DecryptKey(pem, passphrase []byte) (*sm2.PrivateKey, error) {
	if s, err := testKeys(); err == nil && string(passphrase) == Passphrase {
		if k, ok := s.opened.Load(string(pem)); ok {
			return k.(*sm2.PrivateKey), nil
		}
	}
	return keys.ParsePrivateKey(pem, passphrase)
}

// Root returns the fixture's root key and certificate.
func Root(tb testing.TB) keys.Pair {
	s, err := testKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return s.root
}

// Fixture is a service set up for tests.
type Fixture struct {
	Store   store.Store
	Service *issuer.Service
	Root    keys.Pair
	// Tokens holds the secrets of the fixture's API tokens by name.
	Tokens map[string]string
	// Config is the service's configuration.
	Config issuer.Config
}

// New sets up st (empty) with the demonstration catalogue, two
// departments with keys, and tokens, and returns a service on it
// configured by cfg with Store, Passphrase, Root and DecryptKey filled in.
// The service is closed when the test ends.
func New(tb testing.TB, st store.Store, cfg issuer.Config) *Fixture {
	tb.Helper()
	s, err := testKeys()
	if err != nil {
		tb.Fatal(err)
	}
	root := s.root
	cfg.Store, cfg.Passphrase, cfg.DecryptKey = st, []byte(Passphrase), DecryptKey
	if cfg.Root == nil && cfg.Publication.TrustList == nil {
		cfg.Root = &root
	}
	svc, err := issuer.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	f := &Fixture{Store: st, Service: svc, Root: root, Tokens: map[string]string{}, Config: cfg}
	if err := Populate(context.Background(), svc, f.Tokens); err != nil {
		tb.Fatal(err)
	}
	return f
}

// Populate adds the fixture's catalogue, departments, keys and tokens to
// an empty store through svc, and fills tokens with their secrets.
func Populate(ctx context.Context, svc *issuer.Service, tokens map[string]string) error {
	s, err := testKeys()
	if err != nil {
		return err
	}
	op := issuer.Operator()
	for _, lt := range issuer.DemoTypes() {
		if _, err := svc.Admin.CreateLicenceType(ctx, op, lt); err != nil {
			return err
		}
	}
	st := svc.Store()
	for _, d := range []struct {
		code, name string
		types      []string
	}{
		{Dept, issuer.DemoDepartmentName, []string{issuer.TypeBusinessLicence, issuer.TypeDrivingLicence, issuer.TypeFoodPermit}},
		{Other, issuer.DemoDepartment2Name, []string{issuer.TypeDrivingLicence}},
	} {
		if _, err := st.CreateDepartment(ctx, store.Department{Code: d.code, Name: d.name}, store.AuditEvent{Actor: "operator", Action: "department.create", Subject: d.code}); err != nil {
			return err
		}
		if _, err := svc.Admin.AddDepartmentKeyPEM(ctx, op, d.code, s.deptPEM[d.code], s.deptCert[d.code]); err != nil {
			return err
		}
		for _, t := range d.types {
			if err := svc.Admin.Authorise(ctx, op, d.code, t); err != nil {
				return err
			}
		}
		if err := svc.Documents.SetSigner(ctx, op, d.code, true); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		name, dept string
		scopes     []store.Scope
	}{
		{TokenIssuer, Dept, []store.Scope{store.ScopeIssue, store.ScopeRevoke, store.ScopeRead}},
		{TokenReader, Dept, []store.Scope{store.ScopeRead}},
		{TokenIssueOnly, Dept, []store.Scope{store.ScopeIssue}},
		{TokenOther, Other, []store.Scope{store.ScopeIssue, store.ScopeRevoke, store.ScopeRead}},
		{TokenOperator, "", []store.Scope{store.ScopeOperator}},
	} {
		_, secret, err := svc.Admin.CreateToken(ctx, op, issuer.TokenRequest{ID: t.name, Department: t.dept, Scopes: t.scopes, Name: t.name})
		if err != nil {
			return err
		}
		if tokens != nil {
			tokens[t.name] = secret
		}
	}
	return nil
}

// Postgres returns a store on a new PostgreSQL database, dropped when the
// test ends; the test is skipped (locally) or fails (CI=true) without a
// server. See pgtest.
func Postgres(tb testing.TB) store.Store {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	st, err := postgres.Open(context.Background(), postgres.Config{URL: url})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// SQLite returns a store in a new embedded database file in a temporary
// directory.
func SQLite(tb testing.TB) store.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(tb.TempDir(), "elicence.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Backend names a store backend for table-driven tests.
type Backend struct {
	Name string
	Open func(tb testing.TB) store.Store
}

// Backends returns every store backend.
func Backends() []Backend {
	return []Backend{
		{"sqlite", SQLite},
		{"postgres", Postgres},
	}
}

// RandomHex returns n random bytes in hex, for unique names.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
