// Package vectors reads and writes elicence test vectors: plain files in
// testdata/vectors, each an "expect:" header in the style of the C2SP age
// test vectors, a blank line, and a QR text. The signed trust list and status
// lists a vector needs are files beside it; the keys that made them are in
// testdata/vectors/keys, encrypted with the published test-only [Passphrase].
//
// The generator is internal/vectors/gen ("go generate ./internal/vectors"
// or "make vectors"). Every vector is deterministic: the keys are fixed, the
// clock is fixed, and signatures use the deterministic SM2 nonce of RFC 6979.
package vectors

//go:generate go run ./gen -dir ../../testdata/vectors

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Passphrase encrypts the private keys in testdata/vectors/keys. It is
// published on purpose: those keys are for tests only and trusted nowhere.
const Passphrase = "elicence test vectors: TEST ONLY, not a secret"

// Vector is one test vector.
type Vector struct {
	// Name is the file name.
	Name string
	// Indication and SubIndication are the expected verdict, as the
	// verifier's report spells them; SubIndication is empty for PASSED.
	Indication    string
	SubIndication string
	// Now is the time at which to verify.
	Now time.Time
	// Trust is the trust list file, relative to the vector's directory.
	Trust string
	// Status lists the status list files, relative to the vector's directory.
	Status []string
	// Department is the relying department verifying, for annotated copies.
	Department string
	// Comment says what the vector is about.
	Comment string
	// Text is the QR text to verify, exactly.
	Text string
}

// Marshal returns the vector file.
func (v *Vector) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "expect: %s", v.Indication)
	if v.SubIndication != "" {
		fmt.Fprintf(&b, " %s", v.SubIndication)
	}
	fmt.Fprintf(&b, "\nnow: %s\n", v.Now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "trust: %s\n", v.Trust)
	for _, s := range v.Status {
		fmt.Fprintf(&b, "status: %s\n", s)
	}
	if v.Department != "" {
		fmt.Fprintf(&b, "department: %s\n", v.Department)
	}
	for _, c := range strings.Split(v.Comment, "\n") {
		fmt.Fprintf(&b, "comment: %s\n", c)
	}
	fmt.Fprintf(&b, "\n%s\n", v.Text)
	return b.Bytes()
}

// Parse reads a vector file.
func Parse(name string, data []byte) (*Vector, error) {
	head, text, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("vector %s: no blank line after the header", name)
	}
	v := &Vector{Name: name, Text: strings.TrimSuffix(string(text), "\n")}
	var comments []string
	for _, line := range strings.Split(string(head), "\n") {
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("vector %s: header line %q is not \"key: value\"", name, line)
		}
		switch key {
		case "expect":
			v.Indication, v.SubIndication, _ = strings.Cut(val, " ")
		case "now":
			t, err := time.Parse(time.RFC3339, val)
			if err != nil {
				return nil, fmt.Errorf("vector %s: now: %w", name, err)
			}
			v.Now = t
		case "trust":
			v.Trust = val
		case "status":
			v.Status = append(v.Status, val)
		case "department":
			v.Department = val
		case "comment":
			comments = append(comments, val)
		default:
			return nil, fmt.Errorf("vector %s: unknown header %q", name, key)
		}
	}
	v.Comment = strings.Join(comments, "\n")
	switch {
	case v.Indication == "":
		return nil, fmt.Errorf("vector %s: no expect header", name)
	case v.Now.IsZero():
		return nil, fmt.Errorf("vector %s: no now header", name)
	case v.Trust == "":
		return nil, fmt.Errorf("vector %s: no trust header", name)
	}
	return v, nil
}

// IsVectorFile reports whether a file name in the vectors directory names a
// vector: vectors have no extension; support files do.
func IsVectorFile(name string) bool {
	return !strings.Contains(name, ".")
}

// Load reads every vector in dir, sorted by name.
func Load(dir string) ([]*Vector, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Vector
	for _, e := range entries {
		if e.IsDir() || !IsVectorFile(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		v, err := Parse(e.Name(), b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) == 0 {
		return nil, fmt.Errorf("no vectors in %s", dir)
	}
	return out, nil
}
