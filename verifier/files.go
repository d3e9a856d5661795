package verifier

import (
	"context"
	"fmt"
	"os"
	"time"

	"crypto/ecdsa"

	"elicence/format"
)

// StaticTrust returns a TrustFunc that always answers t.
func StaticTrust(t *Trust) TrustFunc {
	return func(context.Context) (*Trust, error) { return t, nil }
}

// LoadTrustFile reads a signed trust list from a file and verifies it under root.
func LoadTrustFile(root *ecdsa.PublicKey, path string) (*Trust, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trust list: %w", err)
	}
	st, _ := os.Stat(path)
	t, err := NewTrust(root, raw, st.ModTime())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// StatusSet holds verified status lists by issuer and list identifier, for
// offline verification from files.
type StatusSet map[[2]string]*Status

// Add verifies a signed status list and adds it, keeping the newest when the
// set already has the same list.
func (s StatusSet) Add(trust *Trust, raw []byte, fetchedAt time.Time, source string) error {
	st, err := NewStatus(trust, raw, fetchedAt, source)
	if err != nil {
		return err
	}
	k := [2]string{st.List.Issuer, st.List.List}
	if old := s[k]; old == nil || old.List.IssuedAt < st.List.IssuedAt {
		s[k] = st
	}
	return nil
}

// LoadStatusFiles reads and verifies signed status lists from files.
func LoadStatusFiles(trust *Trust, paths ...string) (StatusSet, error) {
	s := StatusSet{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read status list: %w", err)
		}
		fi, _ := os.Stat(p)
		if err := s.Add(trust, raw, fi.ModTime(), "file"); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return s, nil
}

// Func returns a StatusFunc answering from the set.
func (s StatusSet) Func() StatusFunc {
	return func(_ context.Context, _ *Trust, dept *format.Department, list string) (*Status, error) {
		st := s[[2]string{dept.Code, list}]
		if st == nil {
			return nil, fmt.Errorf("no status list %s of department %s", list, dept.Code)
		}
		return st, nil
	}
}
