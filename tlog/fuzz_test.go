package tlog_test

import (
	"bytes"
	"testing"

	"elicence/tlog"
)

// FuzzParseTilePath: a path that parses is canonical, so writing it back
// gives the same path.
func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/0/x001/x234/067", "tile/1/005.p/17", "tile/entries/003.p/9", "tile/0/x000/001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		l, i, p, e, err := tlog.ParseTilePath(path)
		if err != nil {
			return
		}
		back := tlog.TilePath(l, i, p)
		if e {
			back = tlog.EntriesPath(i, p)
		}
		if back != path {
			t.Fatalf("%q parses, writes back as %q", path, back)
		}
	})
}

// FuzzParseEntryBundle: a bundle that parses re-encodes to the same bytes.
func FuzzParseEntryBundle(f *testing.F) {
	f.Add(tlog.MarshalEntryBundle([]tlog.Leaf{leafN(0), leafN(2)}))
	f.Add([]byte{0, 34})
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := tlog.ParseEntryBundle(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tlog.MarshalEntryBundle(ls), b) {
			t.Fatal("entry bundle does not re-encode to its bytes")
		}
	})
}

// FuzzOpenCheckpoint: no input panics, and nothing opens unless signed by
// the department's key.
func FuzzOpenCheckpoint(f *testing.F) {
	d := department(f)
	s, _ := logOf(f, testOrigin, 3, leafN)
	f.Add(signedCheckpoint(f, s, d))
	f.Add([]byte(testOrigin + "\n3\nAAAA\n\n— x AAAA\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if cp, err := tlog.OpenCheckpoint(msg, testOrigin, d.verifier); err == nil && cp.Origin != testOrigin {
			t.Fatalf("opened a checkpoint of origin %q", cp.Origin)
		}
	})
}
