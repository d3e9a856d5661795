package cms_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"elicence/document/cms"
	"elicence/document/cms/cmstest"
	"elicence/internal/testenv"
)

// bigFile writes n bytes of non-repeating data to a file in dir.
func bigFile(tb testing.TB, dir string, n int) string {
	tb.Helper()
	p := filepath.Join(dir, "big.bin")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	x := uint64(0x9e3779b97f4a7c15)
	var b [8]byte
	for i := 0; i < n; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for j := range b {
			b[j] = byte(x >> (8 * j))
		}
		w.Write(b[:min(8, n-i)])
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return p
}

const (
	bigSize  = 100 << 20
	rssBound = 64 << 20
)

// TestSign100MBMemoryBound signs a 100 MB file in a child process and
// fails when the child's peak resident set (VmHWM) reaches 64 MB: the file
// is hashed as it streams, never held.
//
// The child is this same test in the test binary run again with
// ELICENCE_CMS_SIGN_FILE set: it signs that file and reports its VmHWM.
func TestSign100MBMemoryBound(t *testing.T) {
	if p := os.Getenv("ELICENCE_CMS_SIGN_FILE"); p != "" {
		signChild(t, p)
		return
	}
	testenv.MemoryBound(t)
	dir := t.TempDir()
	p := bigFile(t, dir, bigSize)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSign100MBMemoryBound$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ELICENCE_CMS_SIGN_FILE="+p)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	rss := testenv.PeakRSS(t, out)
	t.Logf("signing a %d MB file: peak RSS %.1f MB (bound %d MB)", bigSize>>20, float64(rss)/(1<<20), rssBound>>20)
	if rss >= rssBound {
		t.Fatalf("peak RSS %.1f MB, bound %d MB", float64(rss)/(1<<20), rssBound>>20)
	}
	der, err := os.ReadFile(p + ".p7s")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := cms.Verify(der, f); err != nil {
		t.Fatalf("the child's signature does not verify: %v", err)
	}
}

// signChild is TestSign100MBMemoryBound's child: it signs the file at p,
// writes p.p7s and prints its peak resident set.
func signChild(t *testing.T, p string) {
	root := cmstest.NewRoot(t, now)
	s := root.Department(t, "A", "甲", now)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	der, err := s.Sign(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".p7s", der, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.PrintPeakRSS(t)
}
