package cli

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"elicence/format"
	"elicence/keys"
	"elicence/qr"
	"elicence/verifier"
)

func verifyCommand() Command {
	return Command{
		Name:    "verify",
		Args:    "(QRTEXT | --in FILE | --image FILE)",
		Summary: "verify a licence QR text or image offline; exit 0 PASSED, 1 FAILED, 2 INDETERMINATE",
		Setup: func(fs *flag.FlagSet) RunFunc {
			trustFile := fs.String("trust", "", "signed trust list `file`")
			var statusFiles stringList
			fs.Var(&statusFiles, "status", "signed status list `file` (repeatable)")
			rootFile := fs.String("root", "", "root certificate or public key `file` (PEM)")
			dir := fs.String("keys", "", "key `directory` whose root.crt to use instead of --root")
			dept := fs.String("dept", "", "your own department `code`, which annotated copies must name")
			asJSON := fs.Bool("json", false, "print the verification report as JSON")
			nowFlag := fs.String("now", "", "verify as at this RFC 3339 `time` instead of now")
			maxStale := fs.Duration("max-staleness", 0, "oldest status data accepted (default: each list's own time-to-live plus "+verifier.DefaultStalenessGrace.String()+"; longer is your department's choice)")
			in := fs.String("in", "", "read the QR text from `file` (- for standard input)")
			image := fs.String("image", "", "read the QR code from a PNG or JPEG `file`")
			return func(ctx context.Context, env *Env, args []string) error {
				sources := 0
				for _, set := range []bool{len(args) > 0, *in != "", *image != ""} {
					if set {
						sources++
					}
				}
				switch {
				case len(args) > 1:
					return Usagef("want one QR text, got %d arguments (quote the text)", len(args))
				case sources == 0:
					return Usagef("nothing to verify: pass the QR text, --in FILE or --image FILE")
				case sources > 1:
					return Usagef("pass only one of a QR text, --in FILE and --image FILE")
				}
				if *trustFile == "" {
					return Usagef(`no trust list: pass --trust FILE (made by "elicence trust build")`)
				}
				if *rootFile == "" && *dir == "" {
					return Usagef("no root key: pass --root root.crt or --keys DIR")
				}
				if *rootFile != "" && *dir != "" {
					return Usagef("pass only one of --root and --keys")
				}
				if *maxStale < 0 {
					return Usagef("--max-staleness must not be negative")
				}
				now := env.Now()
				if *nowFlag != "" {
					t, err := time.Parse(time.RFC3339, *nowFlag)
					if err != nil {
						return Usagef("--now %q: want an RFC 3339 time such as 2026-01-02T15:04:05+08:00", *nowFlag)
					}
					now = t
				}
				text, err := readQRText(env, args, *in, *image)
				if err != nil {
					return err
				}
				root, err := readRootKey(*rootFile, *dir)
				if err != nil {
					return err
				}
				trust, err := verifier.LoadTrustFile(root, *trustFile)
				if err != nil {
					return err
				}
				// A status list that does not verify under the trust list is
				// left out with a warning: the verdict then says TRY_LATER if
				// it needed that list, never valid and never revoked.
				statuses := verifier.StatusSet{}
				for _, f := range statusFiles {
					raw, err := os.ReadFile(f)
					if err != nil {
						return fmt.Errorf("read status list: %w", err)
					}
					if err := statuses.Add(trust, raw, now, "file"); err != nil {
						fmt.Fprintf(env.Stderr, "elicence verify: ignoring %s: %v\n", f, err)
					}
				}
				r := verifier.Verify(ctx, text, verifier.Config{
					Trust: verifier.StaticTrust(trust), Status: statuses.Func(),
					Now: func() time.Time { return now }, MaxStaleness: *maxStale, Department: *dept,
				})
				if *asJSON {
					enc := json.NewEncoder(env.Stdout)
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					if err := enc.Encode(r); err != nil {
						return err
					}
				} else {
					writeReport(env.Stdout, r)
				}
				switch r.Indication {
				case verifier.Passed:
					return nil
				case verifier.Failed:
					return exitStatus(ExitFailed)
				}
				return exitStatus(ExitIndeterminate)
			}
		},
	}
}

// readQRText gets the text to verify from the argument, a file, standard
// input or an image. One trailing line ending is removed from files and
// standard input, where editors and scanners put it.
func readQRText(env *Env, args []string, in, image string) (string, error) {
	switch {
	case len(args) == 1:
		return args[0], nil
	case in == "-":
		b, err := io.ReadAll(io.LimitReader(env.Stdin, format.MaxQRText+16))
		if err != nil {
			return "", fmt.Errorf("read standard input: %w", err)
		}
		return trimLineEnd(string(b)), nil
	case in != "":
		b, err := readLimited(in, format.MaxQRText+16)
		if err != nil {
			return "", err
		}
		return trimLineEnd(string(b)), nil
	}
	b, err := readLimited(image, 64<<20)
	if err != nil {
		return "", err
	}
	text, err := qr.DecodeBytes(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", image, err)
	}
	return text, nil
}

// readLimited reads at most limit bytes of a file; a longer input is cut,
// which the verifier then reports as too large.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// readRootKey reads the pinned root public key from a file or a key directory.
func readRootKey(file, dir string) (*ecdsa.PublicKey, error) {
	if file == "" {
		file = filepath.Join(dir, keys.RootCertFile)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && dir != "" {
			return nil, fmt.Errorf("no %s in %s (made by \"elicence keys init\")", keys.RootCertFile, dir)
		}
		return nil, fmt.Errorf("read root key: %w", err)
	}
	pub, err := keys.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return pub, nil
}
