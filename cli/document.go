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
	"strings"
)

func signCommand() Command {
	return Command{
		Name:    "sign",
		Args:    "FILE",
		Summary: "sign a document through a running issuer: a PDF stamped and signed in place, any other file with a .p7s",
		Setup: func(fs *flag.FlagSet) RunFunc {
			title := fs.String("title", "", "the document's `title` (标题), required")
			number := fs.String("number", "", "the document `number` (文号)")
			detached := fs.Bool("detached", false, "sign a PDF with a .p7s too, leaving it unchanged")
			out := fs.String("out", "", "write the signed PDF or the .p7s to `file` (default FILE-signed.pdf or FILE.p7s)")
			key := fs.String("idempotency-key", "", "send this Idempotency-Key: the same `key` and file sign once")
			cf := addClientFlags(fs)
			return func(ctx context.Context, e *Env, args []string) error {
				if len(args) != 1 {
					return Usagef("want one FILE to sign, got %d arguments", len(args))
				}
				if *title == "" {
					return Usagef("pass --title: the receipt and the stamp carry it")
				}
				content, err := os.ReadFile(args[0])
				if err != nil {
					return fmt.Errorf("read %s: %w", args[0], err)
				}
				var body bytes.Buffer
				w := multipart.NewWriter(&body)
				w.WriteField("title", *title)
				if *number != "" {
					w.WriteField("number", *number)
				}
				if *detached {
					w.WriteField("detached", "true")
				}
				fw, err := w.CreateFormFile("file", filepath.Base(args[0]))
				if err != nil {
					return err
				}
				fw.Write(content)
				w.Close()
				hdr := map[string]string{}
				if *key != "" {
					hdr["Idempotency-Key"] = *key
				}
				res, err := cf.callWith(ctx, "POST", "/v1/documents", w.FormDataContentType(), &body, hdr)
				if err != nil {
					return err
				}
				defer res.Body.Close()
				signed, err := io.ReadAll(res.Body)
				if err != nil {
					return fmt.Errorf("issuer answer: %w", err)
				}
				name := *out
				if name == "" {
					if res.Header.Get("Content-Type") == "application/pdf" {
						name = strings.TrimSuffix(args[0], filepath.Ext(args[0])) + "-signed.pdf"
					} else {
						name = args[0] + ".p7s"
					}
				}
				if err := os.WriteFile(name, signed, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", name, err)
				}
				fmt.Fprintf(e.Stdout, "document %s\nwrote %s\nreceipt %s\n", res.Header.Get("Elicence-Document-Id"), name, res.Header.Get("Elicence-Receipt"))
				return nil
			}
		},
	}
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
