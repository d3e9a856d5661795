package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"elicence/format"
	"elicence/tlog"
	"elicence/verifier"
)

// logProofsCommand is "elicence log proofs": the tlog-proofs of an offline
// bundle, fetched and verified from a department's issuance log.
func logProofsCommand() Command {
	return Command{
		Name:    "log proofs",
		Summary: "fetch and verify issuance-log proofs of existence for an offline bundle's tlog-proofs/",
		Setup: func(fs *flag.FlagSet) RunFunc {
			trustLoc := fs.String("trust", "", "signed trust list `file` or URL naming the department's log and the witness")
			rootFile := fs.String("root", "", "root certificate or public key `file` (PEM) the trust list is signed by")
			dir := fs.String("keys", "", "key `directory` whose root.crt to use instead of --root")
			dept := fs.String("dept", "", "department `code` (default: the only department with a log in the trust list)")
			logURL := fs.String("url", "", "fetch the log from this URL `prefix` instead of the trust list's (a mirror)")
			in := fs.String("in", "", "`file` (- for standard input) of lines, each a licence or receipt QR text (LC…, LD2:…, or their QR URLs) or a leaf (68 hex digits)")
			out := fs.String("out", "", "bundle `directory`: the proofs go into its "+verifier.BundleProofDir+"/")
			timeout := fs.Duration("timeout", 30*time.Second, "bound on each proof's fetches")
			return func(ctx context.Context, e *Env, args []string) error {
				switch {
				case len(args) > 0:
					return Usagef("unexpected argument %q", args[0])
				case *trustLoc == "":
					return Usagef("no trust list: pass --trust FILE or --trust URL")
				case *rootFile == "" && *dir == "":
					return Usagef("no root key: pass --root root.crt or --keys DIR")
				case *rootFile != "" && *dir != "":
					return Usagef("pass only one of --root and --keys")
				case *in == "" || *out == "":
					return Usagef("pass --in FILE (the objects) and --out DIR (the bundle)")
				case *timeout <= 0:
					return Usagef("--timeout must be positive")
				}
				client := &http.Client{Timeout: *timeout}
				trust, d, err := logDepartment(ctx, e, client, *trustLoc, *rootFile, *dir, *dept)
				if err != nil {
					return err
				}
				if *logURL != "" {
					lg := *d.Log
					lg.URL = strings.TrimSuffix(*logURL, "/") + "/"
					dc := *d
					dc.Log = &lg
					d = &dc
				}
				leaves, err := readLeaves(ctx, e, client, *in)
				if err != nil {
					return err
				}
				ev := verifier.NewLogEvidence(verifier.LogConfig{Client: client, Timeout: *timeout})
				var proofs [][]byte
				missing := 0
				for _, l := range leaves {
					ip, p, err := ev.InclusionProof(ctx, trust, d, l.leaf)
					switch {
					case errors.Is(err, verifier.ErrNoEvidence):
						missing++
						fmt.Fprintf(e.Stdout, "line %d: no proof: %v\n", l.line, err)
						continue
					case err != nil:
						return fmt.Errorf("line %d: %w (try again later)", l.line, err)
					}
					raw, err := ip.Marshal()
					if err != nil {
						return err
					}
					proofs = append(proofs, raw)
					fmt.Fprintf(e.Stdout, "line %d: leaf %d of checkpoint %s size %d, co-signed %s\n", l.line, p.Index, p.Origin, p.Size, p.CosignedAt.Format(time.RFC3339))
				}
				if err := verifier.WriteBundleProofs(*out, proofs...); err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "%d proofs written to %s, %d objects without one\n", len(proofs), filepath.Join(*out, verifier.BundleProofDir), missing)
				if missing > 0 {
					return exitStatus(ExitFailed)
				}
				return nil
			}
		},
	}
}

// numberedLeaf is a leaf read from a line of --in.
type numberedLeaf struct {
	line int
	leaf tlog.Leaf
}

// readLeaves reads one QR text or 34-byte leaf (hex) a line; blank lines
// and lines starting with # are skipped.
func readLeaves(ctx context.Context, e *Env, client *http.Client, path string) ([]numberedLeaf, error) {
	var r io.ReadCloser
	var err error
	if path == "-" {
		r = io.NopCloser(e.Stdin)
	} else if r, err = openSource(ctx, client, path); err != nil {
		return nil, fmt.Errorf("read objects: %w", err)
	}
	defer r.Close()
	var out []numberedLeaf
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), format.MaxQRText+1024)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		var l tlog.Leaf
		if b, err := hex.DecodeString(s); err == nil && len(b) == tlog.LeafSize {
			if l, err = tlog.ParseLeaf(b); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, n, err)
			}
		} else if l, err = qrLeaf(s); err != nil {
			return nil, fmt.Errorf("%s line %d: neither a leaf (68 hex digits) nor a QR text: %v", path, n, err)
		}
		out = append(out, numberedLeaf{line: n, leaf: l})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}
