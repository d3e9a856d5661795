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

// issueFlags are the flags of "elicence issue", as parsed.
type issueFlags struct {
	dir, dept, in, serial     *string
	version                   *int
	list                      *string
	index                     *int
	outQR, outCBOR, outRecord *string
	outPNG, outSVG            *string
	terminal                  *bool
	level                     *string
	publicURL                 *string
	lvl                       qr.Level // --level, parsed by check
}

// issued is what "elicence issue" built: the signed credential, its
// record and its QR text.
type issued struct {
	typ       *issuer.LicenceType
	cred      *format.Credential
	rec       *format.Record
	signed    format.Signed
	text      string
	qrVersion int
}

func issueCommand() Command {
	return Command{
		Name:    "issue",
		Summary: "issue a licence from a JSON request and write its QR code",
		Setup: func(fs *flag.FlagSet) RunFunc {
			f := &issueFlags{
				dir:       fs.String("keys", "", "key `directory` holding the department key"),
				dept:      fs.String("dept", "", "issuing department `code` (default: the only department in --keys)"),
				in:        fs.String("in", "", "licence request `file` (JSON)"),
				serial:    fs.String("serial", "", "`serial` number, 0-9 and A-Z (default: the date and six random digits)"),
				version:   fs.Int("version", 1, "licence version, 1 to 999"),
				list:      fs.String("status-list", "1", "status list `identifier`"),
				index:     fs.Int("status-index", -1, "status list `index` (default: random)"),
				outQR:     fs.String("out-qr", "", "write the QR text to `file` (- for standard output)"),
				outCBOR:   fs.String("cbor", "", "write the signed credential (CBOR) to `file`"),
				outRecord: fs.String("record", "", "write the full licence record (CBOR, holds the full holder ID) to `file`"),
				outPNG:    fs.String("png", "", "write the QR code as a PNG image to `file`"),
				outSVG:    fs.String("svg", "", "write the QR code as an SVG image to `file`"),
				terminal:  fs.Bool("terminal", false, "draw the QR code on the terminal"),
				level:     fs.String("level", "M", "QR error correction `level`: L, M, Q or H"),
				publicURL: fs.String("public-url", "", "write the QR text as a QR URL of the public verification page under this `URL` (format version 2; compact when --status-list is DEPT-N)"),
			}
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				if err := f.check(fs); err != nil {
					return err
				}
				is, err := f.build(env.Now())
				if err != nil {
					return err
				}
				return f.write(env, is)
			}
		},
	}
}

// check validates the flags, parsing --level.
func (f *issueFlags) check(fs *flag.FlagSet) error {
	if err := requireFlag("keys", *f.dir, "the key directory made by \"elicence keys init\""); err != nil {
		return err
	}
	if err := requireFlag("in", *f.in, "a licence request, e.g. --in testdata/licences/business.json"); err != nil {
		return err
	}
	if *f.outQR == "" && *f.outCBOR == "" && *f.outPNG == "" && *f.outSVG == "" && !*f.terminal {
		return Usagef("nothing to write: pass --out-qr FILE, --png FILE, --svg FILE, --cbor FILE or --terminal")
	}
	lvl, err := qr.ParseLevel(*f.level)
	if err != nil {
		return Usagef("--level: %v", err)
	}
	f.lvl = lvl
	if *f.version < 1 || *f.version > 999 {
		return Usagef("--version %d: want 1 to 999", *f.version)
	}
	indexSet := false
	fs.Visit(func(fl *flag.Flag) { indexSet = indexSet || fl.Name == "status-index" })
	if indexSet && (*f.index < 0 || *f.index >= format.MinStatusListSize) {
		return Usagef("--status-index %d: want 0 to %d (leave it out for a random index)", *f.index, format.MinStatusListSize-1)
	}
	return nil
}

// build reads the request, validates it against the demo catalogue, and
// signs the credential with the department's key.
func (f *issueFlags) build(now time.Time) (*issued, error) {
	var err error
	if *f.serial == "" {
		if *f.serial, err = defaultSerial(now); err != nil {
			return nil, err
		}
	}
	if err := checkCode("serial", *f.serial); err != nil {
		return nil, err
	}
	if *f.index < 0 {
		n, err := rand.Int(rand.Reader, big.NewInt(format.MinStatusListSize))
		if err != nil {
			return nil, err
		}
		*f.index = int(n.Int64())
	}
	code, err := chooseDept(*f.dir, *f.dept)
	if err != nil {
		return nil, err
	}
	req, err := readRequest(*f.in)
	if err != nil {
		return nil, err
	}
	typ, err := demoType(req.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", *f.in, err)
	}
	v, err := req.Validate(typ, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", *f.in, err)
	}
	pair, err := loadDeptPair(*f.dir, code)
	if err != nil {
		return nil, err
	}
	id := pair.ID()
	draft := &issuer.Draft{
		Validated: v, Type: typ, IssuerCode: code, Serial: *f.serial, Version: *f.version,
		Status: format.StatusRef{List: *f.list, Index: uint32(*f.index)}, KeyID: id[:], IssuedAt: now,
	}
	rec, cred, err := draft.Build()
	if err != nil {
		return nil, err
	}
	var signed format.Signed
	if n, ok := format.StatusListNumber(code, *f.list); ok && *f.publicURL != "" && typ.Number > 0 {
		// A compact credential (docs/FORMAT.md §5.1).
		cc, err := cred.Compact(typ.Number, n)
		if err != nil {
			return nil, err
		}
		if signed, err = format.SignCompactCredential(pair.Key, *cc); err != nil {
			return nil, err
		}
	} else if signed, err = format.SignCredential(pair.Key, *cred); err != nil {
		return nil, err
	}
	text := format.QRText(format.KindCredential, signed)
	if *f.publicURL != "" {
		if text, err = format.QRURL(*f.publicURL, format.KindCredential, signed); err != nil {
			return nil, Usagef("--public-url: %v", err)
		}
	}
	qrVersion, err := qr.VersionFor(text, f.lvl)
	if err != nil {
		return nil, err
	}
	return &issued{typ: typ, cred: cred, rec: rec, signed: signed, text: text, qrVersion: qrVersion}, nil
}

// write reports what was issued and writes the outputs the flags ask for.
func (f *issueFlags) write(env *Env, is *issued) error {
	typ, cred, text, lvl := is.typ, is.cred, is.text, f.lvl
	info := env.Stdout
	if *f.outQR == "-" {
		info = env.Stderr
	}
	fmt.Fprintf(info, "licence %s\n", cred.ID())
	fmt.Fprintf(info, "type %s (%s), holder %s %s\n", typ.Name, typ.Code, cred.HolderName, cred.HolderID)
	fmt.Fprintf(info, "status list %s index %d\n", *f.list, *f.index)
	fmt.Fprintf(info, "qr text %d characters, version %d at level %s\n", len(text), is.qrVersion, lvl)
	var wrote []string
	write := func(path string, data []byte, perm os.FileMode) error {
		if err := writeFile(path, data, perm); err != nil {
			return err
		}
		wrote = append(wrote, path)
		return nil
	}
	switch *f.outQR {
	case "":
	case "-":
		fmt.Fprintln(env.Stdout, text)
	default:
		if err := write(*f.outQR, []byte(text+"\n"), 0o644); err != nil {
			return err
		}
	}
	if *f.outCBOR != "" {
		if err := write(*f.outCBOR, is.signed.Encode(), 0o644); err != nil {
			return err
		}
	}
	if *f.outRecord != "" {
		if err := write(*f.outRecord, is.rec.Encode(), 0o600); err != nil {
			return err
		}
	}
	opts := qr.Options{Level: lvl, Title: cred.ID()}
	for _, img := range []struct {
		path   string
		render func(string, qr.Options) ([]byte, error)
	}{{*f.outPNG, qr.PNG}, {*f.outSVG, qr.SVG}} {
		if img.path == "" {
			continue
		}
		b, err := img.render(text, opts)
		if err != nil {
			return err
		}
		if err := write(img.path, b, 0o644); err != nil {
			return err
		}
	}
	if len(wrote) > 0 {
		fmt.Fprintf(info, "wrote %s\n", strings.Join(wrote, ", "))
	}
	if *f.terminal {
		t, err := qr.Terminal(text, opts)
		if err != nil {
			return err
		}
		fmt.Fprint(info, t)
	}
	return nil
}
