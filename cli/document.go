package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// signFlags are the flags of "elicence sign", as parsed.
type signFlags struct {
	title, number, out, idemKey *string
	detached                    *bool
	// Offline, with a key directory.
	dir, dept, list, seal, publicURL *string
	index                            *int
	cf                               *clientFlags
}

func signCommand() Command {
	return Command{
		Name:    "sign",
		Args:    "FILE",
		Summary: "sign a document (a PDF stamped and signed in place, any other file with a .p7s) offline with --keys, or through a running issuer",
		Setup: func(fs *flag.FlagSet) RunFunc {
			f := &signFlags{
				title:     fs.String("title", "", "the document's `title` (标题), required"),
				number:    fs.String("number", "", "the document `number` (文号)"),
				detached:  fs.Bool("detached", false, "sign a PDF with a .p7s too, leaving it unchanged"),
				out:       fs.String("out", "", "write the signed PDF or the .p7s to `file` (default FILE-signed.pdf or FILE.p7s)"),
				idemKey:   fs.String("idempotency-key", "", "through an issuer: send this Idempotency-Key, the same `key` and file sign once"),
				dir:       fs.String("keys", "", "sign offline with the department key in this key `directory` (no issuer)"),
				dept:      fs.String("dept", "", "with --keys: the department `code` (default: the only department in --keys)"),
				list:      fs.String("status-list", "", "with --keys: the status list `identifier` DEPT-N of the document's slot (default DEPT-1)"),
				index:     fs.Int("status-index", -1, "with --keys: the status list `index` (default: random)"),
				seal:      fs.String("seal", "", "with --keys: the department's seal, a PNG `file` stamped behind the text"),
				publicURL: fs.String("public-url", "", "with --keys: write the receipt as a QR URL of the public verification page under this `URL`"),
				cf:        addClientFlags(fs),
			}
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) != 1 {
					return Usagef("want one FILE to sign, got %d arguments", len(args))
				}
				if *f.title == "" {
					return Usagef("pass --title: the receipt and the stamp carry it")
				}
				if *f.dir != "" {
					return f.offline(fs, e, args[0])
				}
				var offlineOnly []string
				fs.Visit(func(fl *flag.Flag) {
					if slices.Contains([]string{"dept", "status-list", "status-index", "seal", "public-url"}, fl.Name) {
						offlineOnly = append(offlineOnly, "--"+fl.Name)
					}
				})
				if len(offlineOnly) > 0 {
					return Usagef("%s need --keys: through an issuer, the issuer chooses the slot and stamp", strings.Join(offlineOnly, ", "))
				}
				return f.online(ctx, e, args[0])
			}
		},
	}
}

// outName is where the signed file goes: --out, FILE-signed.pdf or
// FILE.p7s.
func (f *signFlags) outName(file string, pdf bool) string {
	switch {
	case *f.out != "":
		return *f.out
	case pdf:
		return strings.TrimSuffix(file, filepath.Ext(file)) + "-signed.pdf"
	}
	return file + ".p7s"
}

// online signs file through a running issuer, streaming it: the form's
// texts first, then the file, so that the issuer can hash a file it signs
// with a .p7s as it arrives.
func (f *signFlags) online(ctx context.Context, e *Env, file string) error {
	in, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer in.Close()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		w.WriteField("title", *f.title)
		if *f.number != "" {
			w.WriteField("number", *f.number)
		}
		if *f.detached {
			w.WriteField("detached", "true")
		}
		fw, err := w.CreateFormFile("file", filepath.Base(file))
		if err == nil {
			if _, err = io.Copy(fw, in); err != nil {
				err = fmt.Errorf("read %s: %w", file, err)
			}
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	hdr := map[string]string{}
	if *f.idemKey != "" {
		hdr["Idempotency-Key"] = *f.idemKey
	}
	res, err := f.cf.callWith(ctx, "POST", "/v1/documents", w.FormDataContentType(), pr, hdr)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the issuer answered early
	if err != nil {
		return err
	}
	defer res.Body.Close()
	signed, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("issuer answer: %w", err)
	}
	name := f.outName(file, res.Header.Get("Content-Type") == "application/pdf")
	if err := writeFile(name, signed, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "document %s\nwrote %s\nreceipt %s\n", res.Header.Get("Elicence-Document-Id"), name, res.Header.Get("Elicence-Receipt"))
	return nil
}

func documentRescindCommand() Command {
	return Command{
		Name:    "document rescind",
		Args:    "ID",
		Summary: "rescind (撤销) a signed document through a running issuer; final",
		Setup: func(fs *flag.FlagSet) RunFunc {
			reason := fs.String("reason", "", "the `reason`: withdrawn, issued_in_error or other")
			cf := addClientFlags(fs)
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) != 1 {
					return Usagef("want one document ID, got %d arguments", len(args))
				}
				if *reason == "" {
					return Usagef("pass --reason withdrawn, issued_in_error or other")
				}
				b, _ := json.Marshal(map[string]string{"reason": *reason})
				res, err := cf.call(ctx, "POST", "/v1/documents/"+args[0]+"/rescind", "application/json", bytes.NewReader(b))
				if err != nil {
					return err
				}
				defer res.Body.Close()
				var d struct {
					Status       string `json:"status"`
					StatusReason string `json:"status_reason"`
				}
				if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
					return fmt.Errorf("issuer answer: %w", err)
				}
				fmt.Fprintf(e.Stdout, "document %s %s (%s)\n", args[0], d.Status, d.StatusReason)
				return nil
			}
		},
	}
}
