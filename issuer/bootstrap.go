package issuer

import (
	"context"
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
	// DemoToken is the secret of the demo department token; empty makes a
	// random one.
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
	// CreatedKeys is true when this run made the root key.
	CreatedKeys bool
	// DemoToken is the demo department token's secret, set only by the run
	// that created it; it cannot be shown again.
	DemoToken string
	// DemoTokenGenerated is true when DemoToken was chosen at random.
	DemoTokenGenerated bool
}

// Bootstrap prepares the all-in-one demonstration: a root key in
// DataDir/keys (created on first run), the demonstration licence types,
// two demonstration departments with signing keys (the first authorised
// for every demo type, the second for the driving licence), and a token
// of the first department with scopes issue, revoke and read. Every step
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
			if _, err := svc.CreateLicenceType(ctx, op, lt); err != nil {
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
	toks, err := cfg.Store.ListTokens(ctx, DemoDepartmentCode)
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		if t.ID == DemoTokenID {
			return res, nil
		}
	}
	secret := cfg.DemoToken
	if secret == "" {
		secret, res.DemoTokenGenerated = NewTokenSecret(), true
	}
	if _, _, err := svc.CreateToken(ctx, op, TokenRequest{
		ID: DemoTokenID, Department: DemoDepartmentCode, Name: demoTokenDescription, Secret: secret,
		Scopes: []store.Scope{store.ScopeIssue, store.ScopeRevoke, store.ScopeRead},
	}); err != nil {
		return nil, fmt.Errorf("create demo token: %w", err)
	}
	res.DemoToken = secret
	return res, nil
}

// bootstrapDepartment creates a demo department, stores its key from the
// key directory (creating it there if missing) and authorises its types.
func bootstrapDepartment(ctx context.Context, svc *Service, kdir string, pass []byte, code, name string, types []string, now time.Time) error {
	st := svc.store
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
		if _, err := svc.AddDepartmentKeyPEM(ctx, op, code, keyPEM, cert.Raw); err != nil {
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
			if err := svc.Authorise(ctx, op, code, t); err != nil {
				return err
			}
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
