package cli

import (
	"bytes"
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
		Args:    "(QRTEXT | --in FILE | --image FILE | --file DOC [--sig DOC.p7s])",
		Summary: "verify a licence or document receipt QR text, an image, or a signed document offline; exit 0 PASSED, 1 FAILED, 2 INDETERMINATE",
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
			docFile := fs.String("file", "", "verify a signed document: a signed PDF `file`, or any file with --sig")
			sigFile := fs.String("sig", "", "the detached signature (.p7s) `file` of --file")
			logProofs := fs.String("log-proofs", "", "issuance-log proofs of existence: a `directory` of tlog-proof files (an offline bundle's tlog-proofs/)")
			logOnline := fs.Bool("log-online", false, "fetch proofs of existence from the departments' issuance logs (the trust list's log URLs) when a key is compromised or retired")
			return func(ctx context.Context, env *Env, args []string) error {
				sources := 0
				if *sigFile != "" && *docFile == "" {
					return Usagef("--sig needs --file: the file the .p7s signs")
				}
				for _, set := range []bool{len(args) > 0, *in != "", *image != "", *docFile != ""} {
					if set {
						sources++
					}
				}
				switch {
				case len(args) > 1:
					return Usagef("want one QR text, got %d arguments (quote the text)", len(args))
				case sources == 0:
					return Usagef("nothing to verify: pass the QR text, --in FILE, --image FILE or --file DOC")
				case sources > 1:
					return Usagef("pass only one of a QR text, --in FILE, --image FILE and --file DOC")
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
				var (
					text     string
					length   int64
					doc, sig []byte
					err      error
				)
				if *docFile != "" {
					if doc, err = os.ReadFile(*docFile); err != nil {
						return fmt.Errorf("read document: %w", err)
					}
					if *sigFile != "" {
						if sig, err = os.ReadFile(*sigFile); err != nil {
							return fmt.Errorf("read signature: %w", err)
						}
					}
				} else if text, length, err = readQRText(env, args, *in, *image); err != nil {
					return err
				}
				root, err := readRootKey(*rootFile, *dir)
				if err != nil {
					return err
				}
				rootName := *rootFile
				if rootName == "" {
					rootName = filepath.Join(*dir, keys.RootCertFile)
				}
				// A trust list that cannot be read is a mistake in the
				// command; one that does not parse or verify under the
				// pinned root is trust data unavailable: INDETERMINATE
				// TRY_LATER (docs/FORMAT.md §12, step 2), with a hint.
				if _, err := os.Stat(*trustFile); err != nil {
					return fmt.Errorf("read trust list: %w", err)
				}
				var trustFn verifier.TrustFunc
				statuses := verifier.StatusSet{}
				if trust, terr := verifier.LoadTrustFile(root, *trustFile); terr != nil {
					terr = trustHint(terr, *trustFile, rootName)
					trustFn = func(context.Context) (*verifier.Trust, error) { return nil, terr }
				} else {
					trustFn = verifier.StaticTrust(trust)
					// A status list that does not verify under the trust list is
					// left out with a warning: the verdict then says TRY_LATER if
					// it needed that list, never valid and never revoked.
					for _, f := range statusFiles {
						raw, err := os.ReadFile(f)
						if err != nil {
							return fmt.Errorf("read status list: %w", err)
						}
						if err := statuses.Add(trust, raw, now, "file"); err != nil {
							fmt.Fprintf(env.Stderr, "elicence verify: ignoring %s: %v\n", f, err)
						}
					}
				}
				vcfg := verifier.Config{
					Trust: trustFn, Status: statuses.Func(),
					Now: func() time.Time { return now }, MaxStaleness: *maxStale, Department: *dept,
				}
				if *logProofs != "" || *logOnline {
					vcfg.Evidence = verifier.NewLogEvidence(verifier.LogConfig{ProofDir: *logProofs, Offline: !*logOnline})
				}
				var r *verifier.Report
				if *docFile != "" {
					r = verifier.VerifyDocument(ctx, doc, sig, vcfg)
				} else {
					r = verifier.Verify(ctx, text, vcfg)
				}
				if length > int64(len(text)) && r.SubIndication == verifier.InputTooLarge {
					// The input was read only up to the limit: say how long
					// it really is.
					r.Reason = fmt.Sprintf("qr text: too large: %d bytes, at most %d characters", length, format.MaxQRText)
				}
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
// input or an image, and the length of the input in bytes, which is more
// than the text's when the input was cut at the limit (a longer input is
// cut, and the verifier then reports it as too large). One trailing line
// ending is removed from files and standard input, where editors and
// scanners put it.
func readQRText(env *Env, args []string, in, image string) (string, int64, error) {
	const limit = format.MaxQRText + 16
	switch {
	case len(args) == 1:
		return args[0], int64(len(args[0])), nil
	case in == "-":
		b, n, err := readCounted(env.Stdin, limit)
		if err != nil {
			return "", 0, fmt.Errorf("read standard input: %w", err)
		}
		return trimLineEnd(string(b)), n, nil
	case in != "":
		f, err := os.Open(in)
		if err != nil {
			return "", 0, err
		}
		defer f.Close()
		b, n, err := readCounted(f, limit)
		if err != nil {
			return "", 0, fmt.Errorf("read %s: %w", in, err)
		}
		return trimLineEnd(string(b)), n, nil
	}
	f, err := os.Open(image)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	b, n, err := readCounted(f, maxImage)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", image, err)
	}
	if n > maxImage {
		return "", 0, fmt.Errorf("%s: %d bytes, more than the %d MiB an image may have: crop it to the QR code", image, n, maxImage>>20)
	}
	text, err := qr.DecodeBytes(b)
	if err != nil {
		return "", 0, imageHint(image, b, err)
	}
	return text, int64(len(text)), nil
}

// maxImage is the largest QR image file verify reads.
const maxImage = 64 << 20

// readCounted reads at most limit bytes of r and counts the rest (up to
// 1 GiB, so that an endless input ends).
func readCounted(r io.Reader, limit int64) ([]byte, int64, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, 0, err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, 1<<30))
	return b, int64(len(b)) + rest, err
}

// imageHint explains why no QR text came out of an image file.
func imageHint(name string, data []byte, err error) error {
	switch {
	case errors.Is(err, qr.ErrNoCode):
		return fmt.Errorf("%s: %w: the image must show one whole QR code, sharp and with its quiet margin (as elicence issue --png and /v1/licences/ID/qr.png make it); or pass the text with --in FILE", name, err)
	case errors.Is(err, qr.ErrUnreadable):
		return fmt.Errorf("%s: %w: take a sharper picture of the whole code, or pass the text with --in FILE", name, err)
	case errors.Is(err, qr.ErrUnsupportedFormat):
		head := bytes.TrimSpace(data[:min(len(data), 200)])
		if len(head) > 0 && (head[0] == '{' || head[0] == '<') {
			// A JSON problem or an HTML page saved by a failed
			// download (curl without -f) is the common case.
			return fmt.Errorf("%s: %w; it holds text, perhaps an error answer saved by a failed download: %.120s", name, err, head)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// trustHint explains why a trust list file was not accepted.
func trustHint(err error, trustFile, rootFile string) error {
	var pe *format.ParseError
	switch {
	case errors.Is(err, format.ErrSignature):
		return fmt.Errorf("%w; %s was not signed by the root in %s: the root and the trust list do not belong together (pass the root.crt of the operator that signed the list, e.g. data/root.crt of elicence serve or KEYDIR/root.crt of elicence keys init)", err, trustFile, rootFile)
	case errors.As(err, &pe):
		return fmt.Errorf("%w; %s is not a signed trust list (make one with elicence trust build, or fetch it from /v1/trust-list)", err, trustFile)
	}
	return err
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
	if errors.Is(err, keys.ErrNotPublicKey) {
		return nil, fmt.Errorf("%s: %w; pass the root certificate root.crt (or root.pub), e.g. data/root.crt of elicence serve or KEYDIR/root.crt of elicence keys init", file, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return pub, nil
}
