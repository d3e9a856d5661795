package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"elicence/issuer"
	"elicence/issuer/store"
	"elicence/issuer/store/storeopen"
	"elicence/keys"
)

// firstTokenName names the token "issuer init" makes for the first
// department.
const firstTokenName = "首个部门令牌 (first department token, issuer init)"

func issuerInitCommand() Command {
	return Command{
		Name:    "issuer init",
		Summary: "prepare an issuer database: migrate, root key, licence types, first department and its first token",
		Setup: func(fs *flag.FlagSet) RunFunc {
			db := fs.String("db", os.Getenv(issuerEnvPrefix+"DB"), "database: a postgres:// `URL` or an embedded store file [$ELICENCE_ISSUER_DB]")
			rootKey := fs.String("root-key", "", "encrypted root private key `file`; created with root.crt and root.pub beside it when missing")
			rootCode := fs.String("root-code", "", "the trust-list operator's unified social credit `code` (for a new root key)")
			rootName := fs.String("root-name", "", "the trust-list operator's `name`, e.g. 示例省数据管理局 (for a new root key)")
			catalogue := fs.String("catalogue", "", "licence types to create: a JSON array of POST /v1/admin/licence-types bodies (`file`; default: the built-in catalogue of elicence serve)")
			dept := fs.String("dept", "", "the first department's unified social credit `code`")
			deptName := fs.String("dept-name", "", "the first department's `name`, e.g. 示例市市场监督管理局")
			types := fs.String("types", "", "comma-separated licence type `codes` the department may issue (default: every type of the catalogue)")
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][3]string{
					{"db", *db, "postgres://USER@HOST/DB (or $ELICENCE_ISSUER_DB)"},
					{"root-key", *rootKey, "where the encrypted root key is or is to be, e.g. /etc/elicence/root/root.key"},
					{"dept", *dept, "the first department's code, e.g. 11350100MB00000012"},
					{"dept-name", *deptName, "the first department's name"},
				} {
					if err := requireFlag(f[0], f[1], f[2]); err != nil {
						return err
					}
				}
				pass, err := passphrase()
				if err != nil {
					return err
				}
				lts := issuer.DemoTypes()
				if *catalogue != "" {
					if lts, err = readCatalogue(*catalogue); err != nil {
						return err
					}
				}
				say := func(format string, args ...any) { fmt.Fprintf(e.Stderr, format+"\n", args...) }

				// 1. The root key: the trust-list operator's, which signs the
				// trust list and certifies department keys.
				certFile := filepath.Join(filepath.Dir(*rootKey), keys.RootCertFile)
				if _, err := os.Stat(*rootKey); errors.Is(err, os.ErrNotExist) {
					if *rootCode == "" || *rootName == "" {
						return Usagef("%s does not exist: pass --root-code and --root-name to create the root key there", *rootKey)
					}
					if err := checkCode("root-code", *rootCode); err != nil {
						return err
					}
					if err := createRootKey(*rootKey, pass, keys.Subject{Code: *rootCode, Name: *rootName}, e); err != nil {
						return err
					}
					say("root key    created: %s (encrypted), %s and %s for verifiers to pin", *rootKey, certFile, filepath.Join(filepath.Dir(*rootKey), keys.RootPubFile))
				} else if err != nil {
					return fmt.Errorf("root key: %w", err)
				} else {
					say("root key    %s (exists; kept)", *rootKey)
				}
				root, err := loadRootKeyPair(*rootKey, certFile, pass)
				if err != nil {
					return err
				}

				// 2. The schema.
				st, err := storeopen.Open(ctx, *db, nil)
				if err != nil {
					return err
				}
				defer st.Close()
				say("database    migrated (%s)", storeKind(*db))
				svc, err := issuer.New(issuer.Config{Store: st, Passphrase: pass, Root: &root, Now: e.Now})
				if err != nil {
					return err
				}
				defer svc.Close()
				op := issuer.Operator()

				// 3. The catalogue of licence types.
				var codes []string
				for _, lt := range lts {
					codes = append(codes, lt.Code)
					if _, err := st.LicenceType(ctx, lt.Code); err == nil {
						continue
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					if _, err := svc.Admin.CreateLicenceType(ctx, op, lt); err != nil {
						return fmt.Errorf("licence type %s: %w", lt.Code, validationText(err))
					}
					say("licence type %s %s created", lt.Code, lt.Name)
				}
				if *types != "" {
					codes = nil
					for _, c := range strings.Split(*types, ",") {
						if c = strings.TrimSpace(c); c != "" {
							codes = append(codes, c)
						}
					}
				}

				// 4. The first department, its signing key (certified by the
				// root, stored encrypted in the database) and its types.
				if _, err := st.Department(ctx, *dept); errors.Is(err, store.ErrNotFound) {
					_, k, err := svc.Admin.CreateDepartment(ctx, op, issuer.DepartmentRequest{Code: *dept, Name: *deptName, Types: codes})
					if err != nil {
						return fmt.Errorf("department %s: %w", *dept, validationText(err))
					}
					say("department  %s %s created, signing key %s, may issue %s", *dept, *deptName, k.ID, strings.Join(codes, ", "))
				} else if err != nil {
					return err
				} else {
					for _, c := range codes {
						ok, err := st.IsAuthorised(ctx, *dept, c)
						if err != nil {
							return err
						}
						if !ok {
							if err := svc.Admin.Authorise(ctx, op, *dept, c); err != nil {
								return fmt.Errorf("authorise %s for %s: %w", *dept, c, validationText(err))
							}
						}
					}
					say("department  %s (exists; may issue %s)", *dept, strings.Join(codes, ", "))
				}

				// 5. The department's first token, unless it has one.
				toks, err := st.ListTokens(ctx, *dept)
				if err != nil {
					return err
				}
				for _, t := range toks {
					if !t.Revoked() {
						say("token       department %s already has token %s: make another with elicence issuer token create --dept %s --name NAME", *dept, t.ID, *dept)
						return nil
					}
				}
				tok, secret, err := svc.Admin.CreateToken(ctx, op, issuer.TokenRequest{
					Department: *dept, Name: firstTokenName,
					Scopes: []store.Scope{store.ScopeIssue, store.ScopeRevoke, store.ScopeRead},
				})
				if err != nil {
					return fmt.Errorf("first token: %w", err)
				}
				say("token       %s of %s (issue, revoke, read) created; the secret is shown once, on standard output:", tok.ID, *dept)
				fmt.Fprintln(e.Stdout, secret)
				say("next        elicence issuer serve --db … --root-key %s  (docs/deploy.md)", *rootKey)
				return nil
			}
		},
	}
}

// createRootKey writes a new root key (encrypted, mode 0600) to keyFile,
// with root.crt and root.pub beside it; it never overwrites a file.
func createRootKey(keyFile string, pass []byte, subject keys.Subject, e *Env) error {
	dir := filepath.Dir(keyFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("root key directory: %w", err)
	}
	certFile, pubFile := filepath.Join(dir, keys.RootCertFile), filepath.Join(dir, keys.RootPubFile)
	for _, f := range []string{certFile, pubFile} {
		if _, err := os.Stat(f); err == nil {
			return fmt.Errorf("%s exists without %s: refusing to overwrite it (move it away, or pass the root key that belongs to it)", f, keyFile)
		}
	}
	k, err := keys.Generate(nil)
	if err != nil {
		return err
	}
	certDER, err := keys.NewRootCertificate(k, subject, e.Now())
	if err != nil {
		return err
	}
	keyPEM, err := keys.MarshalPrivateKey(k, pass)
	if err != nil {
		return err
	}
	pubPEM, err := keys.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		return err
	}
	if err := keys.WriteSecretFile(keyFile, keyPEM); err != nil {
		return fmt.Errorf("write root key: %w", err)
	}
	if err := writeFile(certFile, keys.CertificatePEM(certDER), 0o644); err != nil {
		return err
	}
	return writeFile(pubFile, pubPEM, 0o644)
}

// readCatalogue reads a JSON array of licence types.
func readCatalogue(path string) ([]issuer.LicenceType, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var lts []issuer.LicenceType
	if err := dec.Decode(&lts); err != nil {
		return nil, fmt.Errorf("catalogue %s: %w (want a JSON array of licence types, each as the body of POST /v1/admin/licence-types in docs/openapi.yaml)", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("catalogue %s: data after the JSON array", path)
	}
	if len(lts) == 0 {
		return nil, fmt.Errorf("catalogue %s: no licence types", path)
	}
	return lts, nil
}

// validationText spells out a validation error's fields.
func validationText(err error) error {
	var ve *issuer.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) < 2 {
		return err
	}
	var parts []string
	for _, f := range ve.Errors {
		parts = append(parts, f.Field+": "+f.Reason)
	}
	return errors.New("invalid request: " + strings.Join(parts, "; "))
}

func storeKind(db string) string {
	if storeopen.IsPostgresURL(db) {
		return "PostgreSQL"
	}
	return "embedded store " + db
}
