package cli

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/big"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/smx509"

	"elicence/document/cms"
	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/store"
	"elicence/qr"
)

// offline signs file with the department key of a key directory, with no
// issuer: the receipt takes the slot --status-list/--status-index of the
// department's own status list, which "elicence status set --index N
// --status revoked" marks when the document is rescinded. A PDF is held in
// memory (it is stamped and signed in place); any other file is hashed as
// it is read.
func (f *signFlags) offline(fs *flag.FlagSet, e *Env, file string) error {
	var online []string
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "server" || fl.Name == "token" || fl.Name == "idempotency-key" {
			online = append(online, "--"+fl.Name)
		}
	})
	if len(online) > 0 {
		return Usagef("%v are for signing through an issuer; with --keys the document is signed offline", online)
	}
	code, err := chooseDept(*f.dir, *f.dept)
	if err != nil {
		return err
	}
	list := *f.list
	if list == "" {
		list = format.StatusListName(code, 1)
	}
	if _, ok := format.StatusListNumber(code, list); !ok {
		return Usagef("--status-list %q: a document's list is named DEPT-N, e.g. %s", list, format.StatusListName(code, 1))
	}
	index := *f.index
	if index < -1 || index >= format.MinStatusListSize {
		return Usagef("--status-index %d: want 0 to %d (leave it out for a random index)", index, format.MinStatusListSize-1)
	}
	if index == -1 {
		n, err := rand.Int(rand.Reader, big.NewInt(format.MinStatusListSize))
		if err != nil {
			return err
		}
		index = int(n.Int64())
	}
	var seal image.Image
	if *f.seal != "" {
		if seal, err = readSeal(*f.seal); err != nil {
			return err
		}
	}
	req := issuer.SignRequest{Title: *f.title, Number: *f.number, FileName: filepath.Base(file), Detached: *f.detached}
	doc, err := readDocument(file, &req)
	if err != nil {
		return err
	}
	pair, err := loadDeptPair(*f.dir, code)
	if err != nil {
		return err
	}
	chain := []*smx509.Certificate{pair.Cert}
	if root, err := readRootCert(*f.dir); err == nil {
		chain = append(chain, root)
	}
	sg := issuer.DocumentSigner{Key: pair.Key, KeyID: pair.ID(), Chain: chain, DeptCode: code, DeptName: pair.Cert.Subject.CommonName, Seal: seal}
	if *f.publicURL != "" {
		base, err := format.URLBase(*f.publicURL)
		if err != nil {
			return Usagef("--public-url: %v", err)
		}
		sg.QRText = func(env format.Signed) string { return base + format.QRText2(format.KindDocumentReceipt, env) }
	}
	d, signed, err := issuer.BuildDocument(sg, req, doc, store.DocumentSlot{StatusListID: list, StatusIndex: index}, e.Now())
	if err != nil {
		var ve *issuer.ValidationError
		if errors.As(err, &ve) && doc.Kind == store.DocumentPDF && len(ve.Errors) > 0 && ve.Errors[0].Field == "file" {
			return fmt.Errorf("%s: %w (pass --detached to sign it with a .p7s)", file, err)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	name := f.outName(file, doc.Kind == store.DocumentPDF)
	if err := writeFile(name, signed, 0o644); err != nil {
		return err
	}
	signedEnv, _ := format.ParseSigned("document receipt", d.Receipt)
	text := format.QRText2(format.KindDocumentReceipt, signedEnv)
	if sg.QRText != nil {
		text = sg.QRText(signedEnv)
	}
	fmt.Fprintf(e.Stdout, "document %s\nwrote %s\nreceipt %s\n", d.ID, name, text)
	if v, err := qr.VersionFor(text, qr.LevelM); err == nil {
		fmt.Fprintf(e.Stdout, "qr text %d characters, version %d at level M\n", len(text), v)
	}
	fmt.Fprintf(e.Stdout, "status list %s index %d (rescind: elicence status set --keys %s --index %d --status revoked)\n", list, index, *f.dir, index)
	return nil
}

// readDocument reads the file to sign into req: a PDF signed in place is
// read whole, any other file is hashed as it is read.
func readDocument(file string, req *issuer.SignRequest) (issuer.DocumentFile, error) {
	in, err := os.Open(file)
	if err != nil {
		return issuer.DocumentFile{}, fmt.Errorf("read %s: %w", file, err)
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 1024)
	head, err := br.Peek(1024)
	if err != nil && err != io.EOF {
		return issuer.DocumentFile{}, fmt.Errorf("read %s: %w", file, err)
	}
	if len(head) == 0 {
		return issuer.DocumentFile{}, fmt.Errorf("%s is empty: there is nothing to sign", file)
	}
	if issuer.IsPDF(head) && !req.Detached {
		if req.Content, err = io.ReadAll(br); err != nil {
			return issuer.DocumentFile{}, fmt.Errorf("read %s: %w", file, err)
		}
	} else {
		if req.Digest, req.Size, err = cms.DigestCount(br); err != nil {
			return issuer.DocumentFile{}, fmt.Errorf("read %s: %w", file, err)
		}
	}
	doc, err := issuer.DocumentFileOf(*req, "pass --detached to sign it with a .p7s")
	if err != nil {
		return issuer.DocumentFile{}, fmt.Errorf("%s: %w", file, err)
	}
	return doc, nil
}

// readSeal reads a seal image (PNG).
func readSeal(file string) (image.Image, error) {
	b, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read seal: %w", err)
	}
	defer b.Close()
	img, err := png.Decode(bufio.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the seal must be a PNG image)", file, err)
	}
	return img, nil
}
