package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/qr"
)

// readRequest reads a licence request from a JSON file, refusing unknown
// fields so that a misspelt key is not silently dropped.
func readRequest(path string) (*issuer.Request, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read licence request: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var req issuer.Request
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: more than one JSON value", path)
	}
	return &req, nil
}

// demoType returns the demo catalogue's licence type with the given code.
func demoType(code string) (*issuer.LicenceType, error) {
	for _, t := range issuer.DemoTypes() {
		if t.Code == code {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("unknown licence type %q (known: %s)", code, strings.Join(demoTypeCodes(), ", "))
}

// defaultSerial is the issuance date in China (YYYYMMDD) and six random
// digits: 14 characters, as long as a serial the CLI makes ever is.
func defaultSerial(now time.Time) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%06d", now.In(chinaTime).Format("20060102"), n.Int64()), nil
}

func issueCommand() Command {
	return Command{
		Name:    "issue",
		Summary: "issue a licence from a JSON request and write its QR code",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("keys", "", "key `directory` holding the department key")
			dept := fs.String("dept", "", "issuing department `code` (default: the only department in --keys)")
			in := fs.String("in", "", "licence request `file` (JSON)")
			serial := fs.String("serial", "", "`serial` number, 0-9 and A-Z (default: the date and six random digits)")
			version := fs.Int("version", 1, "licence version, 1 to 999")
			list := fs.String("status-list", "1", "status list `identifier`")
			index := fs.Int("status-index", -1, "status list `index` (default: random)")
			outQR := fs.String("out-qr", "", "write the QR text to `file` (- for standard output)")
			outCBOR := fs.String("cbor", "", "write the signed credential (CBOR) to `file`")
			outRecord := fs.String("record", "", "write the full licence record (CBOR, holds the full holder ID) to `file`")
			outPNG := fs.String("png", "", "write the QR code as a PNG image to `file`")
			outSVG := fs.String("svg", "", "write the QR code as an SVG image to `file`")
			terminal := fs.Bool("terminal", false, "draw the QR code on the terminal")
			level := fs.String("level", "M", "QR error correction `level`: L, M, Q or H")
			publicURL := fs.String("public-url", "", "write the QR text as a QR URL of the public verification page under this `URL` (format version 2; compact when --status-list is DEPT-N)")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				if err := requireFlag("keys", *dir, "the key directory made by \"elicence keys init\""); err != nil {
					return err
				}
				if err := requireFlag("in", *in, "a licence request, e.g. --in testdata/licences/business.json"); err != nil {
					return err
				}
				if *outQR == "" && *outCBOR == "" && *outPNG == "" && *outSVG == "" && !*terminal {
					return Usagef("nothing to write: pass --out-qr FILE, --png FILE, --svg FILE, --cbor FILE or --terminal")
				}
				lvl, err := qr.ParseLevel(*level)
				if err != nil {
					return Usagef("--level: %v", err)
				}
				if *version < 1 || *version > 999 {
					return Usagef("--version %d: want 1 to 999", *version)
				}
				indexSet := false
				fs.Visit(func(f *flag.Flag) { indexSet = indexSet || f.Name == "status-index" })
				if indexSet && (*index < 0 || *index >= format.MinStatusListSize) {
					return Usagef("--status-index %d: want 0 to %d (leave it out for a random index)", *index, format.MinStatusListSize-1)
				}
				now := env.Now()
				if *serial == "" {
					if *serial, err = defaultSerial(now); err != nil {
						return err
					}
				}
				if err := checkCode("serial", *serial); err != nil {
					return err
				}
				if *index < 0 {
					n, err := rand.Int(rand.Reader, big.NewInt(format.MinStatusListSize))
					if err != nil {
						return err
					}
					*index = int(n.Int64())
				}
				code, err := chooseDept(*dir, *dept)
				if err != nil {
					return err
				}
				req, err := readRequest(*in)
				if err != nil {
					return err
				}
				typ, err := demoType(req.Type)
				if err != nil {
					return fmt.Errorf("%s: %w", *in, err)
				}
				v, err := req.Validate(typ, now)
				if err != nil {
					return fmt.Errorf("%s: %w", *in, err)
				}
				pair, err := loadDeptPair(*dir, code)
				if err != nil {
					return err
				}
				id := pair.ID()
				draft := &issuer.Draft{
					Validated: v, Type: typ, IssuerCode: code, Serial: *serial, Version: *version,
					Status: format.StatusRef{List: *list, Index: uint32(*index)}, KeyID: id[:], IssuedAt: now,
				}
				rec, cred, err := draft.Build()
				if err != nil {
					return err
				}
				var signed format.Signed
				if n, ok := format.StatusListNumber(code, *list); ok && *publicURL != "" && typ.Number > 0 {
					// A compact credential (docs/FORMAT.md §5.1).
					cc, err := cred.Compact(typ.Number, n)
					if err != nil {
						return err
					}
					signed, err = format.SignCompactCredential(pair.Key, *cc)
					if err != nil {
						return err
					}
				} else if signed, err = format.SignCredential(pair.Key, *cred); err != nil {
					return err
				}
				text := format.QRText(format.KindCredential, signed)
				if *publicURL != "" {
					if text, err = format.QRURL(*publicURL, format.KindCredential, signed); err != nil {
						return Usagef("--public-url: %v", err)
					}
				}
				qrVersion, err := qr.VersionFor(text, lvl)
				if err != nil {
					return err
				}
				info := env.Stdout
				if *outQR == "-" {
					info = env.Stderr
				}
				fmt.Fprintf(info, "licence %s\n", cred.ID())
				fmt.Fprintf(info, "type %s (%s), holder %s %s\n", typ.Name, typ.Code, cred.HolderName, cred.HolderID)
				fmt.Fprintf(info, "status list %s index %d\n", *list, *index)
				fmt.Fprintf(info, "qr text %d characters, version %d at level %s\n", len(text), qrVersion, lvl)
				var wrote []string
				write := func(path string, data []byte, perm os.FileMode) error {
					if err := writeFile(path, data, perm); err != nil {
						return err
					}
					wrote = append(wrote, path)
					return nil
				}
				switch *outQR {
				case "":
				case "-":
					fmt.Fprintln(env.Stdout, text)
				default:
					if err := write(*outQR, []byte(text+"\n"), 0o644); err != nil {
						return err
					}
				}
				if *outCBOR != "" {
					if err := write(*outCBOR, signed.Encode(), 0o644); err != nil {
						return err
					}
				}
				if *outRecord != "" {
					if err := write(*outRecord, rec.Encode(), 0o600); err != nil {
						return err
					}
				}
				opts := qr.Options{Level: lvl, Title: cred.ID()}
				if *outPNG != "" {
					b, err := qr.PNG(text, opts)
					if err != nil {
						return err
					}
					if err := write(*outPNG, b, 0o644); err != nil {
						return err
					}
				}
				if *outSVG != "" {
					b, err := qr.SVG(text, opts)
					if err != nil {
						return err
					}
					if err := write(*outSVG, b, 0o644); err != nil {
						return err
					}
				}
				if len(wrote) > 0 {
					fmt.Fprintf(info, "wrote %s\n", strings.Join(wrote, ", "))
				}
				if *terminal {
					t, err := qr.Terminal(text, opts)
					if err != nil {
						return err
					}
					fmt.Fprint(info, t)
				}
				return nil
			}
		},
	}
}
