package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"elicence/format"
	"elicence/tlog"
)

// An offline bundle is what a counter PC without network verifies from: the
// signed trust list in one file and the signed status lists in a directory,
// copied from the issuer (or its CDN) by any means. Its layout, as
// WriteBundle makes it:
//
//	<dir>/trust-list.cbor
//	<dir>/status/<issuer>_<list>.cbor
//	<dir>/tlog-proofs/<leaf hash>.tlog-proof   (optional)
//
// A Cache configured with Trust set to the trust list file and StatusDir
// to the status directory reads them, checks the files again every few
// seconds and takes changed ones, under the same rules as over HTTP:
// signatures verified under the pinned root, sequence and issued-at never
// going back, and the same maximum staleness. File names in the status
// directory do not matter; every regular file in it is read as a status
// list and known by its contents. Whether a file changed is decided by
// its contents (a SHA-256 digest), never by its modification time or size:
// a new bundle of the same size written within one timestamp tick, or
// copied with its times kept (cp -p, rsync -t, tar), is still read.
//
// The tlog-proofs directory carries proofs of existence from the
// departments' issuance logs, for objects signed by keys since compromised
// or retired: each file one C2SP tlog-proof (tlog.InclusionProof.Marshal:
// the 34-byte leaf as its extra data, the leaf index, the inclusion proof,
// then the co-signed checkpoint note), best the first co-signed checkpoint
// holding the leaf (the one the log's lookup names). A [LogEvidence] with
// ProofDir set to it reads every regular file there (names do not matter),
// again at most every few seconds when it misses a proof, and verifies
// each proof it uses as it would one built from tiles. "elicence log
// proofs" fetches and verifies them from a log ([LogEvidence.InclusionProof]). The proof of a
// log's leaf 0 also dates the log's start, which a retired key's objects
// are judged by (docs/FORMAT.md §10).

// Bundle file names.
const (
	BundleTrustFile = "trust-list.cbor"
	BundleStatusDir = "status"
	BundleProofDir  = "tlog-proofs"
)

// WriteBundleProofs writes tlog-proofs (tlog.InclusionProof.Marshal) into
// dir's tlog-proofs directory, each named by its leaf hash. It checks
// their form, not the proofs.
func WriteBundleProofs(dir string, proofs ...[]byte) error {
	pd := filepath.Join(dir, BundleProofDir)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return fmt.Errorf("write bundle proofs: %w", err)
	}
	for _, raw := range proofs {
		p, err := tlog.ParseInclusionProof(raw)
		if err != nil {
			return fmt.Errorf("write bundle proofs: %w", err)
		}
		if err := writeAtomic(filepath.Join(pd, hex.EncodeToString(p.Leaf.Hash())+".tlog-proof"), raw); err != nil {
			return fmt.Errorf("write bundle proofs: %w", err)
		}
	}
	return nil
}

// proofDir holds the tlog-proofs of a bundle directory, read again at most
// every fileRecheck when a proof is missed.
type proofDir struct {
	dir string

	mu     sync.Mutex
	next   time.Time
	proofs map[string]tlog.InclusionProof // origin + " " + leaf hash
	firsts map[string]tlog.InclusionProof // origin → proof of leaf 0
}

// maxBundleProofs bounds the proofs read from a bundle.
const maxBundleProofs = 1_000_000

func (d *proofDir) lookup(origin string, leaf tlog.Leaf) (tlog.InclusionProof, bool) {
	return d.find(func() (tlog.InclusionProof, bool) {
		p, ok := d.proofs[origin+" "+hex.EncodeToString(leaf.Hash())]
		return p, ok
	})
}

func (d *proofDir) first(origin string) (tlog.InclusionProof, bool) {
	return d.find(func() (tlog.InclusionProof, bool) {
		p, ok := d.firsts[origin]
		return p, ok
	})
}

func (d *proofDir) find(get func() (tlog.InclusionProof, bool)) (tlog.InclusionProof, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := get(); ok {
		return p, true
	}
	if now := time.Now(); !now.Before(d.next) {
		d.next = now.Add(fileRecheck)
		d.scan()
	}
	return get()
}

// scan reads every proof file; unreadable or malformed ones are skipped.
func (d *proofDir) scan() {
	d.proofs, d.firsts = map[string]tlog.InclusionProof{}, map[string]tlog.InclusionProof{}
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return
	}
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), ".") || !de.Type().IsRegular() || len(d.proofs) >= maxBundleProofs {
			continue
		}
		f, err := readFile(filepath.Join(d.dir, de.Name()))
		if err != nil {
			continue
		}
		p, err := tlog.ParseInclusionProof(f.body)
		if err != nil {
			continue
		}
		origin, _, _ := strings.Cut(string(p.Checkpoint), "\n")
		d.proofs[origin+" "+hex.EncodeToString(p.Leaf.Hash())] = p
		if p.Index == 0 {
			d.firsts[origin] = p
		}
	}
}

// WriteBundle writes a signed trust list and signed status lists into dir
// in the bundle layout. It does not verify them.
func WriteBundle(dir string, trust []byte, lists ...[]byte) error {
	sd := filepath.Join(dir, BundleStatusDir)
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, BundleTrustFile), trust); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	for _, raw := range lists {
		_, l, err := format.ParseStatusList(raw)
		if err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		if err := writeAtomic(filepath.Join(sd, bundleName(l.Issuer, l.List)), raw); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	return nil
}

// bundleName is the file name of a status list in a bundle, with anything
// but letters, digits, '-' and '.' replaced so that it is a safe name.
func bundleName(issuer, list string) string {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '~'
		}, s)
	}
	return safe(issuer) + "_" + safe(list) + ".cbor"
}

// writeAtomic writes data to a temporary file and renames it over path, so
// that a verifier scanning the directory never reads half a file.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// dirState is what the cache knows of its status directory.
type dirState struct {
	next     time.Time // scan again at or after
	inflight bool
	// files holds the content digest of each file last read, by name.
	files map[string]string
}

// contentTag returns the tag of a file's contents: their SHA-256 digest.
func contentTag(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func statDir(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// readFile reads a signed object from a file, refusing oversize files. Its
// etag is the tag of its contents.
func readFile(path string) (fetched, error) {
	f := fetched{maxAge: -1}
	fi, err := os.Stat(path)
	if err != nil {
		return f, err
	}
	if !fi.Mode().IsRegular() {
		return f, fmt.Errorf("%s is not a regular file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return f, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, format.MaxSigned+1))
	if err != nil {
		return f, err
	}
	if len(b) > format.MaxSigned {
		return f, fmt.Errorf("%s is larger than %d bytes", path, format.MaxSigned)
	}
	f.body, f.etag = b, contentTag(b)
	return f, nil
}

// readFileIfChanged reads path and answers not modified when its contents
// have the tag etag.
func readFileIfChanged(path, etag string) (fetched, error) {
	f, err := readFile(path)
	if err != nil {
		return f, err
	}
	if etag != "" && f.etag == etag {
		return fetched{maxAge: -1, etag: etag, notModified: true}, nil
	}
	return f, nil
}

// statusFromDir answers a status list from the status directory, reading
// the directory again first when it is due.
func (c *Cache) statusFromDir(ctx context.Context, trust *Trust, k statusKey) (*Status, error) {
	c.mu.RLock()
	due := !c.now().Before(c.dir.next)
	c.mu.RUnlock()
	var scanErr error
	if due {
		scanErr = c.scanDir(ctx, trust)
	}
	c.mu.RLock()
	var cur *Status
	if e := c.status[k]; e != nil {
		cur = e.cur
	}
	c.mu.RUnlock()
	if cur != nil {
		return cur, nil
	}
	if scanErr != nil {
		return nil, scanErr
	}
	return nil, fmt.Errorf("no status list %s/%s in the status directory", k.issuer, k.list)
}

// scanDir reads every new or changed file of the status directory, once for
// all concurrent callers.
func (c *Cache) scanDir(ctx context.Context, trust *Trust) error {
	_, err := c.flight(ctx, "dir", func(fctx context.Context) (any, error) {
		return nil, c.doScanDir(fctx, trust)
	})
	return err
}

func (c *Cache) doScanDir(ctx context.Context, trust *Trust) error {
	c.mu.Lock()
	if trust == nil {
		trust = c.trust.cur
	}
	c.dir.inflight = true
	if c.dir.files == nil {
		c.dir.files = map[string]string{}
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.dir.inflight = false
		c.dir.next = c.now().Add(fileRecheck)
		c.mu.Unlock()
	}()
	if trust == nil {
		return errors.New("status directory: no trust list held")
	}
	entries, err := os.ReadDir(c.cfg.StatusDir)
	if err != nil {
		c.stats.errors.Add(1)
		return fmt.Errorf("status directory: %w", err)
	}
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), ".") || !de.Type().IsRegular() {
			continue
		}
		f, err := readFile(filepath.Join(c.cfg.StatusDir, de.Name()))
		if err != nil {
			c.stats.errors.Add(1)
			c.log.Warn("status file unreadable", "file", de.Name(), "err", err)
			continue
		}
		c.mu.Lock()
		old, seen := c.dir.files[de.Name()]
		c.dir.files[de.Name()] = f.etag
		c.mu.Unlock()
		if seen && old == f.etag {
			continue
		}
		c.stats.fetches.Add(1)
		now := c.now()
		st, err := c.verifyStatus(ctx, trust, f.body, now, sourceFile)
		if err != nil {
			c.stats.refused.Add(1)
			c.log.Warn("status file refused", "file", de.Name(), "err", err)
			continue
		}
		if _, err := c.install(statusKey{st.List.Issuer, st.List.List}, st, "", time.Time{}); err != nil {
			c.log.Warn("status file refused", "file", de.Name(), "err", err)
		}
	}
	return nil
}
