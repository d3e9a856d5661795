package cli

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"elicence/keys"
)

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// parseIndices parses a comma-separated list of status-list indices.
func parseIndices(flagName, s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, Usagef("--%s: %q is not an index (want numbers separated by commas)", flagName, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// codePattern is what a department or issuer code may be: it becomes part
// of file names and of licence identifiers.
var codePattern = regexp.MustCompile(`^[0-9A-Z]{1,32}$`)

func checkCode(flagName, code string) error {
	if !codePattern.MatchString(code) {
		return Usagef("--%s %q: want 1 to 32 characters 0-9 and A-Z", flagName, code)
	}
	return nil
}

// passphrase reads the key passphrase from the environment.
func passphrase() ([]byte, error) {
	p, err := keys.Passphrase(PassphraseEnv)
	if err != nil {
		return nil, &UsageError{msg: err.Error()}
	}
	return p, nil
}

// requireFlag returns a usage error when a required flag is empty.
func requireFlag(name, value, hint string) error {
	if value != "" {
		return nil
	}
	if hint != "" {
		return Usagef("missing --%s: %s", name, hint)
	}
	return Usagef("missing --%s", name)
}

// readRootCert reads dir/root.crt.
func readRootCert(dir string) (*smx509.Certificate, error) {
	b, err := os.ReadFile(filepath.Join(dir, keys.RootCertFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no %s in %s (made by \"elicence keys init\")", keys.RootCertFile, dir)
		}
		return nil, fmt.Errorf("read root certificate: %w", err)
	}
	c, err := keys.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, keys.RootCertFile), err)
	}
	return c, nil
}

// deptCodes lists the departments with a certificate in dir, sorted.
func deptCodes(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	matches, err := filepath.Glob(filepath.Join(dir, "dept-*.crt"))
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, m := range matches {
		codes = append(codes, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "dept-"), ".crt"))
	}
	sort.Strings(codes)
	return codes, nil
}

// chooseDept returns code, or when it is empty the only department in dir.
func chooseDept(dir, code string) (string, error) {
	if code != "" {
		return code, checkCode("dept", code)
	}
	codes, err := deptCodes(dir)
	if err != nil {
		return "", err
	}
	switch len(codes) {
	case 0:
		return "", fmt.Errorf("no department key in %s (made by \"elicence keys init\")", dir)
	case 1:
		return codes[0], nil
	}
	return "", Usagef("%s holds keys of %d departments (%s): pass --dept CODE", dir, len(codes), strings.Join(codes, ", "))
}

// readDeptCert reads a department's certificate from dir.
func readDeptCert(dir, code string) (*smx509.Certificate, error) {
	name := keys.DeptFile(code, "crt")
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no certificate of department %s in %s (want %s)", code, dir, name)
		}
		return nil, err
	}
	c, err := keys.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// loadDeptPair decrypts a department's signing key.
func loadDeptPair(dir, code string) (keys.Pair, error) {
	pass, err := passphrase()
	if err != nil {
		return keys.Pair{}, err
	}
	return keys.LoadPair(dir, keys.DeptFile(code, "key"), keys.DeptFile(code, "crt"), pass)
}

// loadRootPair decrypts the root key.
func loadRootPair(dir string) (keys.Pair, error) {
	pass, err := passphrase()
	if err != nil {
		return keys.Pair{}, err
	}
	return keys.LoadPair(dir, keys.RootKeyFile, keys.RootCertFile, pass)
}

// writeFile writes data to path through a temporary file and a rename, so
// that a reader never sees half a file and --in and --out may be the same.
func writeFile(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// trimLineEnd removes one trailing line ending (CR LF, LF or CR), as a file
// editor or a keyboard-wedge scanner leaves it.
func trimLineEnd(s string) string {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "\n"), strings.HasSuffix(s, "\r"):
		return s[:len(s)-1]
	}
	return s
}

// certPublicKey returns a certificate's SM2 public key.
func certPublicKey(c *smx509.Certificate) (*ecdsa.PublicKey, error) {
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("certificate has no sm2 public key")
	}
	return pub, nil
}
