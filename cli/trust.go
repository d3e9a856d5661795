package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/keys"
)

// DefaultStatusURL is the status-list address template written into trust
// lists: {dept} is replaced by the department code when the list is built,
// {list} is left for verifiers to replace by the list identifier.
const DefaultStatusURL = "http://localhost:8080/v1/status/{dept}/{list}"

func demoTypeCodes() []string {
	var codes []string
	for _, t := range issuer.DemoTypes() {
		codes = append(codes, t.Code)
	}
	return codes
}

// typeInfos returns the catalogue entries of the given type codes.
func typeInfos(codes []string) ([]format.TypeInfo, error) {
	var out []format.TypeInfo
	all := issuer.DemoTypes()
next:
	for _, c := range codes {
		for i := range all {
			if all[i].Code == c {
				out = append(out, all[i].Info())
				continue next
			}
		}
		return nil, Usagef("--types: unknown licence type %q (known: %s)", c, strings.Join(demoTypeCodes(), ", "))
	}
	return out, nil
}

// splitCodes splits a comma-separated list of codes, dropping blanks.
func splitCodes(s string) []string {
	var codes []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	return codes
}

func trustBuildCommand() Command {
	return Command{
		Name:    "trust build",
		Summary: "build and root-sign a trust list of the departments in a key directory",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("keys", "", "key `directory` (root key and dept-*.crt)")
			types := fs.String("types", strings.Join(demoTypeCodes(), ","), "licence type `codes` the departments may issue, comma-separated")
			out := fs.String("out", "", "trust list `file` to write")
			next := fs.Duration("next-update", 720*time.Hour, "how long the list stays fresh")
			statusURL := fs.String("status-url", DefaultStatusURL, "status-list address `template`; {dept} and {list} are replaced")
			seq := fs.Uint64("sequence", 0, "sequence number (default: issued-at in Unix seconds)")
			documents := fs.String("documents", "", "department `codes` that may sign documents, comma-separated (default: none)")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				if err := requireFlag("keys", *dir, "the key directory made by \"elicence keys init\""); err != nil {
					return err
				}
				if err := requireFlag("out", *out, "the file to write, e.g. --out trust.cbor"); err != nil {
					return err
				}
				if *next <= 0 {
					return Usagef("--next-update must be positive")
				}
				codes := splitCodes(*types)
				infos, err := typeInfos(codes)
				if err != nil {
					return err
				}
				now := env.Now()
				tl := format.TrustList{Sequence: *seq, IssuedAt: now.Unix(), NextUpdate: now.Add(*next).Unix(), Types: infos}
				if tl.Sequence == 0 {
					tl.Sequence = uint64(now.Unix())
				}
				rootCert, err := readRootCert(*dir)
				if err != nil {
					return err
				}
				depts, err := deptCodes(*dir)
				if err != nil {
					return err
				}
				if len(depts) == 0 {
					return fmt.Errorf("no department certificate (dept-*.crt) in %s", *dir)
				}
				signers := splitCodes(*documents)
				for _, c := range signers {
					if !slices.Contains(depts, c) {
						return Usagef("--documents: no department %s in %s (it has %s)", c, *dir, strings.Join(depts, ", "))
					}
				}
				for _, code := range depts {
					cert, err := readDeptCert(*dir, code)
					if err != nil {
						return err
					}
					if err := keys.VerifyIssuerCertificate(rootCert, cert, now); err != nil {
						return fmt.Errorf("%s: %w", keys.DeptFile(code, "crt"), err)
					}
					if cert.Subject.SerialNumber != code {
						return fmt.Errorf("%s certifies department %q, not %s", keys.DeptFile(code, "crt"), cert.Subject.SerialNumber, code)
					}
					id := keys.IDOfDER(cert.RawSubjectPublicKeyInfo)
					tl.Departments = append(tl.Departments, format.Department{
						Code: code, Name: cert.Subject.CommonName, Types: codes, Documents: slices.Contains(signers, code),
						StatusURL: strings.ReplaceAll(*statusURL, "{dept}", code),
						Keys: []format.TrustedKey{{
							ID: id[:], PublicKey: cert.RawSubjectPublicKeyInfo, State: format.KeyActive, Certificate: cert.Raw,
						}},
					})
				}
				root, err := loadRootPair(*dir)
				if err != nil {
					return err
				}
				s, err := format.SignTrustList(root.Key, tl)
				if err != nil {
					return err
				}
				b := s.Encode()
				if err := writeFile(*out, b, 0o644); err != nil {
					return err
				}
				printTrust(env, &tl)
				fmt.Fprintf(env.Stdout, "wrote %s (%d bytes)\n", *out, len(b))
				return nil
			}
		},
	}
}

func printTrust(env *Env, tl *format.TrustList) {
	fmt.Fprintf(env.Stdout, "trust list sequence %d, %d department(s), next update %s\n",
		tl.Sequence, len(tl.Departments), time.Unix(tl.NextUpdate, 0).UTC().Format(time.RFC3339))
	for _, d := range tl.Departments {
		fmt.Fprintf(env.Stdout, "  %s %s: types %s", d.Code, d.Name, strings.Join(d.Types, ", "))
		if d.Documents {
			fmt.Fprint(env.Stdout, "; signs documents")
		}
		fmt.Fprintln(env.Stdout)
		for _, k := range d.Keys {
			fmt.Fprintf(env.Stdout, "    key %x %s", k.ID, k.State)
			if k.State != format.KeyActive {
				fmt.Fprintf(env.Stdout, " since %s", time.Unix(k.Since, 0).UTC().Format(time.RFC3339))
			}
			fmt.Fprintln(env.Stdout)
		}
	}
}

func parseKeyState(s string) (format.KeyState, error) {
	switch s {
	case "retired":
		return format.KeyRetired, nil
	case "compromised":
		return format.KeyCompromised, nil
	}
	return 0, Usagef("--state %q: want retired or compromised", s)
}

func trustKeyStateCommand() Command {
	return Command{
		Name:    "trust key-state",
		Summary: "re-sign a trust list with a key marked retired or compromised",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("keys", "", "key `directory` holding the root key")
			in := fs.String("in", "", "trust list `file` to read")
			out := fs.String("out", "", "trust list `file` to write (may be the same as --in)")
			keyID := fs.String("key", "", "key `ID` (16 hex digits)")
			dept := fs.String("dept", "", "department `code`, when the key ID is not unique")
			state := fs.String("state", "", "new key state: retired or compromised")
			since := fs.String("since", "", "RFC 3339 `time` from which the key is no longer trusted (default now)")
			next := fs.Duration("next-update", 0, "how long the new list stays fresh (default: as long as the old one)")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][2]string{{"keys", *dir}, {"in", *in}, {"out", *out}, {"key", *keyID}, {"state", *state}} {
					if err := requireFlag(f[0], f[1], ""); err != nil {
						return err
					}
				}
				id, err := keys.ParseID(*keyID)
				if err != nil {
					return Usagef("--key: %v", err)
				}
				st, err := parseKeyState(*state)
				if err != nil {
					return err
				}
				now := env.Now()
				sinceTime := now
				if *since != "" {
					if sinceTime, err = time.Parse(time.RFC3339, *since); err != nil {
						return Usagef("--since %q: want an RFC 3339 time such as 2026-01-02T15:04:05+08:00", *since)
					}
				}
				rootCert, err := readRootCert(*dir)
				if err != nil {
					return err
				}
				raw, err := os.ReadFile(*in)
				if err != nil {
					return fmt.Errorf("read trust list: %w", err)
				}
				s, tl, err := format.ParseTrustList(raw)
				if err != nil {
					return fmt.Errorf("%s: %w", *in, err)
				}
				rootPub, err := certPublicKey(rootCert)
				if err != nil {
					return err
				}
				if err := s.Verify(rootPub); err != nil {
					return fmt.Errorf("%s: not signed by the root key in %s: %w", *in, *dir, err)
				}
				var found []*format.TrustedKey
				for i := range tl.Departments {
					d := &tl.Departments[i]
					if *dept != "" && d.Code != *dept {
						continue
					}
					if k := d.Key(id[:]); k != nil {
						found = append(found, k)
					}
				}
				switch {
				case len(found) == 0:
					return fmt.Errorf("key %s is not in %s", id, *in)
				case len(found) > 1:
					return Usagef("key %s belongs to %d departments: pass --dept CODE", id, len(found))
				}
				k := found[0]
				switch {
				case k.State == format.KeyCompromised && st == format.KeyRetired:
					return fmt.Errorf("key %s is compromised; it cannot become merely retired", id)
				case k.State == st && sinceTime.Unix() > k.Since:
					return fmt.Errorf("key %s is already %s since %s; the time can only move earlier", id, st, time.Unix(k.Since, 0).UTC().Format(time.RFC3339))
				}
				k.State, k.Since = st, sinceTime.Unix()
				window := time.Duration(tl.NextUpdate-tl.IssuedAt) * time.Second
				if *next > 0 {
					window = *next
				}
				tl.Sequence++
				tl.IssuedAt = max(now.Unix(), tl.IssuedAt)
				tl.NextUpdate = tl.IssuedAt + int64(window/time.Second)
				root, err := loadRootPair(*dir)
				if err != nil {
					return err
				}
				signed, err := format.SignTrustList(root.Key, *tl)
				if err != nil {
					return err
				}
				b := signed.Encode()
				if err := writeFile(*out, b, 0o644); err != nil {
					return err
				}
				printTrust(env, tl)
				fmt.Fprintf(env.Stdout, "wrote %s (%d bytes)\n", *out, len(b))
				return nil
			}
		},
	}
}
