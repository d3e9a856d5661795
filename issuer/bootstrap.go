package issuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"elicence/issuer/store"
	"elicence/keys"
)

// Names of the demonstration set-up.
const (
	DemoRootName         = "示例省数据管理局"
	DemoDepartmentName   = "示例市市场监督管理局"
	DemoDepartment2Name  = "示例市公安局交通警察支队"
	DemoTokenID          = "demo"
	DemoTokenEnv         = "ELICENCE_DEMO_TOKEN"
	PassphraseFile       = "passphrase"
	KeysDir              = "keys"
	demoTokenDescription = "演示部门令牌 (demo department token)"
)

// BootstrapConfig configures Bootstrap.
type BootstrapConfig struct {
	Store store.Store
	// DataDir holds root.crt and root.pub (public, for verifiers to pin)
	// and keys/ with the encrypted root and department keys.
	DataDir    string
	Passphrase []byte
	// DemoToken is the chosen secret of the demo department token
	// (ELICENCE_DEMO_TOKEN), honoured on every run; empty makes a random
	// one when the department has no working demo token.
	DemoToken string
	Now       func() time.Time
}

// BootstrapResult says what Bootstrap found or made.
type BootstrapResult struct {
	// Root is the root key and certificate.
	Root keys.Pair
	// RootCertFile and RootPubFile are the public root files to pin.
	RootCertFile, RootPubFile string
	// RootKeyFile is the encrypted root private key.
	RootKeyFile string
	// Witness is the operator's witness key (keys/witness.key, created
	// on first run), which co-signs the issuance logs' checkpoints.
	Witness crypto.Signer
	// CreatedKeys is true when this run made the root key.
	CreatedKeys bool
	// DemoTokenSource says where this run's demo token came from.
	DemoTokenSource DemoTokenSource
	// DemoTokenID is the ID of that token.
	DemoTokenID string
	// DemoToken is the secret of a demo token made at random on this run
	// (DemoTokenGenerated); it is stored hashed and cannot be shown again.
	DemoToken string
}

// Bootstrap prepares the all-in-one demonstration: a root key in
// DataDir/keys (created on first run), the demonstration licence types,
// two demonstration departments with signing keys (the first authorised
// for every demo type, the second for the driving licence), and a token
// of the first department with scopes issue, revoke and read (see
// bootstrapDemoToken). Every step
// is skipped when already done, so a run interrupted half-way is finished
// by the next.
func Bootstrap(ctx context.Context, cfg BootstrapConfig) (*BootstrapResult, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	now := cfg.Now()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	kdir := filepath.Join(cfg.DataDir, KeysDir)
	res := &BootstrapResult{
		RootCertFile: filepath.Join(cfg.DataDir, keys.RootCertFile),
		RootPubFile:  filepath.Join(cfg.DataDir, keys.RootPubFile),
		RootKeyFile:  filepath.Join(kdir, keys.RootKeyFile),
	}
	if _, err := os.Stat(res.RootKeyFile); errors.Is(err, os.ErrNotExist) {
		if err := keys.InitDir(kdir, cfg.Passphrase,
			keys.Subject{Code: DemoRootCode, Name: DemoRootName},
			keys.Subject{Code: DemoDepartmentCode, Name: DemoDepartmentName}, now); err != nil {
			return nil, fmt.Errorf("create demo keys: %w", err)
		}
		res.CreatedKeys = true
	}
	root, err := keys.LoadPair(kdir, keys.RootKeyFile, keys.RootCertFile, cfg.Passphrase)
	if err != nil {
		return nil, fmt.Errorf("load root key: %w", err)
	}
	res.Root = root
	if res.Witness, _, err = LoadWitnessKey(kdir, cfg.Passphrase); err != nil {
		return nil, err
	}
	for _, f := range []string{keys.RootCertFile, keys.RootPubFile} {
		b, err := os.ReadFile(filepath.Join(kdir, f))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, f), b, 0o644); err != nil {
			return nil, fmt.Errorf("publish %s: %w", f, err)
		}
	}

	svc, err := New(Config{Store: cfg.Store, Passphrase: cfg.Passphrase, Root: &root, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	op := Operator()
	for _, lt := range DemoTypes() {
		if _, err := cfg.Store.LicenceType(ctx, lt.Code); errors.Is(err, store.ErrNotFound) {
			if _, err := svc.Admin.CreateLicenceType(ctx, op, lt); err != nil {
				return nil, fmt.Errorf("create demo licence type %s: %w", lt.Code, err)
			}
		} else if err != nil {
			return nil, err
		}
	}
	depts := []struct {
		code, name string
		types      []string
	}{
		{DemoDepartmentCode, DemoDepartmentName, []string{TypeBusinessLicence, TypeDrivingLicence, TypeFoodPermit}},
		{DemoDepartment2Code, DemoDepartment2Name, []string{TypeDrivingLicence}},
	}
	for _, d := range depts {
		if err := bootstrapDepartment(ctx, svc, kdir, cfg.Passphrase, d.code, d.name, d.types, now); err != nil {
			return nil, err
		}
	}
	if err := bootstrapDemoToken(ctx, svc, cfg.DemoToken, res); err != nil {
		return nil, err
	}
	return res, nil
}

// DemoTokenSource says where the demo department token of a run came from.
type DemoTokenSource int

// Where the demo token came from.
const (
	// DemoTokenEarlier: made on an earlier run and shown then; no token
	// was chosen on this one.
	DemoTokenEarlier DemoTokenSource = iota
	// DemoTokenGenerated: made at random on this run; DemoToken holds it.
	DemoTokenGenerated
	// DemoTokenChosen: the chosen token (ELICENCE_DEMO_TOKEN), stored on
	// this run; demo tokens of earlier runs keep working.
	DemoTokenChosen
	// DemoTokenKept: the chosen token, already stored by an earlier run.
	DemoTokenKept
)

// checkDemoToken says why a chosen demo token could not be used as a
// bearer token: it must reach the issuer unchanged in an HTTP header.
func checkDemoToken(secret string) error {
	if len(secret) > MaxTokenLength {
		return fmt.Errorf("%s is %d bytes long, more than the %d a bearer token may have: choose a shorter one", DemoTokenEnv, len(secret), MaxTokenLength)
	}
	for _, c := range secret {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%s holds a space, a control character or a non-ASCII character, which an Authorization header does not carry unchanged: choose one of printable ASCII characters without spaces", DemoTokenEnv)
		}
	}
	return nil
}

// isDemoToken reports whether t is a demo department token made by
// Bootstrap (ID "demo", or "demo-" and a random suffix).
func isDemoToken(t store.Token) bool {
	return t.DepartmentCode == DemoDepartmentCode && (t.ID == DemoTokenID || strings.HasPrefix(t.ID, DemoTokenID+"-"))
}

// bootstrapDemoToken makes sure the demo department has a working demo
// token. A chosen secret is honoured on every run, not only the first:
// when no token has it yet it is stored as one more demo token, and the
// tokens of earlier runs keep working, so that no run loses a token a
// user already has. Without a chosen secret, a random one is made only
// when the department has no working demo token.
func bootstrapDemoToken(ctx context.Context, svc *Service, chosen string, res *BootstrapResult) error {
	st := svc.core.store
	if chosen != "" {
		if err := checkDemoToken(chosen); err != nil {
			return err
		}
		switch t, err := st.TokenByHash(ctx, HashToken(chosen)); {
		case err == nil && !isDemoToken(t):
			return fmt.Errorf("%s is already the secret of token %s, which is not a demo token: choose another", DemoTokenEnv, t.ID)
		case err == nil && t.Revoked():
			return fmt.Errorf("%s is the secret of demo token %s, which was revoked: choose another", DemoTokenEnv, t.ID)
		case err == nil:
			res.DemoTokenSource, res.DemoTokenID = DemoTokenKept, t.ID
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	toks, err := st.ListTokens(ctx, DemoDepartmentCode)
	if err != nil {
		return err
	}
	id, working := DemoTokenID, false
	for _, t := range toks {
		if t.ID == DemoTokenID {
			id = "" // taken: a new demo token gets a suffix
		}
		if isDemoToken(t) && !t.Revoked() {
			working = true
			res.DemoTokenID = t.ID
		}
	}
	if chosen == "" && working {
		res.DemoTokenSource = DemoTokenEarlier
		return nil
	}
	secret, source := chosen, DemoTokenChosen
	if secret == "" {
		secret, source = NewTokenSecret(), DemoTokenGenerated
	}
	if id == "" {
		b := make([]byte, 4)
		rand.Read(b)
		id = fmt.Sprintf("%s-%x", DemoTokenID, b)
	}
	if _, _, err := svc.Admin.CreateToken(ctx, Operator(), TokenRequest{
		ID: id, Department: DemoDepartmentCode, Name: demoTokenDescription, Secret: secret,
		Scopes: []store.Scope{store.ScopeIssue, store.ScopeRevoke, store.ScopeRead},
	}); err != nil {
		return fmt.Errorf("create demo token: %w", err)
	}
	res.DemoTokenSource, res.DemoTokenID = source, id
	if source == DemoTokenGenerated {
		res.DemoToken = secret
	}
	return nil
}

// bootstrapDepartment creates a demo department, stores its key from the
// key directory (creating it there if missing) and authorises its types.
func bootstrapDepartment(ctx context.Context, svc *Service, kdir string, pass []byte, code, name string, types []string, now time.Time) error {
	st := svc.core.store
	op := Operator()
	if _, err := st.Department(ctx, code); errors.Is(err, store.ErrNotFound) {
		if _, err := st.CreateDepartment(ctx, store.Department{Code: code, Name: name},
			store.AuditEvent{Actor: op.TokenID, Action: "department.create", Subject: code}); err != nil {
			return fmt.Errorf("create demo department %s: %w", code, err)
		}
	} else if err != nil {
		return err
	}
	if _, err := st.ActiveSigningKey(ctx, code); errors.Is(err, store.ErrNotFound) {
		keyFile := filepath.Join(kdir, keys.DeptFile(code, "key"))
		if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
			if _, err := keys.AddDepartment(kdir, pass, keys.Subject{Code: code, Name: name}, now); err != nil {
				return fmt.Errorf("create key of demo department %s: %w", code, err)
			}
		}
		keyPEM, err := os.ReadFile(keyFile)
		if err != nil {
			return err
		}
		certPEM, err := os.ReadFile(filepath.Join(kdir, keys.DeptFile(code, "crt")))
		if err != nil {
			return err
		}
		cert, err := keys.ParseCertificate(certPEM)
		if err != nil {
			return err
		}
		if _, err := svc.Admin.AddDepartmentKeyPEM(ctx, op, code, keyPEM, cert.Raw); err != nil {
			return fmt.Errorf("store key of demo department %s: %w", code, err)
		}
	} else if err != nil {
		return err
	}
	for _, t := range types {
		ok, err := st.IsAuthorised(ctx, code, t)
		if err != nil {
			return err
		}
		if !ok {
			if err := svc.Admin.Authorise(ctx, op, code, t); err != nil {
				return err
			}
		}
	}
	// Demo departments sign documents too.
	if ok, err := st.IsDocumentSigner(ctx, code); err != nil {
		return err
	} else if !ok {
		if err := svc.Documents.SetSigner(ctx, op, code, true); err != nil {
			return err
		}
	}
	return nil
}

// DemoPassphrase returns the passphrase kept in DataDir/passphrase,
// creating it (random, mode 0600) if missing; created says whether it did.
// It is for the all-in-one demonstration only: production issuers take the
// passphrase from ELICENCE_PASSPHRASE or ELICENCE_PASSPHRASE_FILE.
func DemoPassphrase(dataDir string) (pass []byte, path string, created bool, err error) {
	path = filepath.Join(dataDir, PassphraseFile)
	b, err := os.ReadFile(path)
	if err == nil {
		p := strings.TrimSpace(string(b))
		if p == "" {
			return nil, path, false, fmt.Errorf("%s is empty", path)
		}
		return []byte(p), path, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, path, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, path, false, fmt.Errorf("create data directory: %w", err)
	}
	r := make([]byte, 24)
	rand.Read(r)
	p := base64.RawURLEncoding.EncodeToString(r)
	if err := keys.WriteSecretFile(path, []byte(p+"\n")); err != nil {
		return nil, path, false, fmt.Errorf("write passphrase: %w", err)
	}
	return []byte(p), path, true, nil
}
