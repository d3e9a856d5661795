package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"elicence/format"
	"elicence/keys"
)

func parseStatus(s string) (format.Status, error) {
	switch s {
	case "valid":
		return format.StatusValid, nil
	case "revoked":
		return format.StatusRevoked, nil
	case "suspended":
		return format.StatusSuspended, nil
	}
	return 0, Usagef("--status %q: want valid, revoked or suspended", s)
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl/time.Second > 1<<32-1 {
		return Usagef("--ttl %s: want at least 1s", ttl)
	}
	return nil
}

func statusBuildCommand() Command {
	return Command{
		Name:    "status build",
		Summary: "build and sign a department's status list",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("keys", "", "key `directory` holding the department key")
			dept := fs.String("dept", "", "department `code` (default: the only department in --keys)")
			list := fs.String("list", "", "status list `identifier`, e.g. 1")
			revoke := fs.String("revoke", "", "`indices` to mark revoked, comma-separated")
			suspend := fs.String("suspend", "", "`indices` to mark suspended, comma-separated")
			ttl := fs.Duration("ttl", time.Hour, "how long verifiers may use the list")
			size := fs.Int("size", format.MinStatusListSize, "number of entries")
			out := fs.String("out", "", "status list `file` to write")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][2]string{{"keys", *dir}, {"list", *list}, {"out", *out}} {
					if err := requireFlag(f[0], f[1], ""); err != nil {
						return err
					}
				}
				if err := checkTTL(*ttl); err != nil {
					return err
				}
				if *size < format.MinStatusListSize || *size > format.MaxStatusListSize {
					return Usagef("--size %d: want %d to %d", *size, format.MinStatusListSize, format.MaxStatusListSize)
				}
				rev, err := parseIndices("revoke", *revoke)
				if err != nil {
					return err
				}
				sus, err := parseIndices("suspend", *suspend)
				if err != nil {
					return err
				}
				code, err := chooseDept(*dir, *dept)
				if err != nil {
					return err
				}
				entries := format.NewStatuses(*size, format.StatusBits)
				for _, set := range []struct {
					idx []int
					v   format.Status
				}{{rev, format.StatusRevoked}, {sus, format.StatusSuspended}} {
					for _, i := range set.idx {
						if i >= *size {
							return Usagef("index %d outside a list of %d entries", i, *size)
						}
						entries.Set(i, set.v)
					}
				}
				pair, err := loadDeptPair(*dir, code)
				if err != nil {
					return err
				}
				issuedAt := env.Now().Unix()
				// Never go backwards from a list already at --out.
				if old, err := os.ReadFile(*out); err == nil {
					if _, l, err := format.ParseStatusList(old); err == nil && l.Issuer == code && l.List == *list {
						issuedAt = max(issuedAt, l.IssuedAt+1)
					}
				}
				id := pair.ID()
				l := format.StatusList{
					Issuer: code, List: *list, IssuedAt: issuedAt, TTL: uint32(*ttl / time.Second),
					Bits: format.StatusBits, Size: uint32(*size), Lst: entries.Compress(), KeyID: id[:],
				}
				return signStatus(env, pair, l, *out)
			}
		},
	}
}

func signStatus(env *Env, pair keys.Pair, l format.StatusList, out string) error {
	s, err := format.SignStatusList(pair.Key, l)
	if err != nil {
		return err
	}
	b := s.Encode()
	if err := writeFile(out, b, 0o644); err != nil {
		return err
	}
	entries, err := l.Statuses()
	if err != nil {
		return err
	}
	var revoked, suspended int
	for i := 0; i < entries.Len(); i++ {
		switch entries.Get(i) {
		case format.StatusRevoked:
			revoked++
		case format.StatusSuspended:
			suspended++
		}
	}
	fmt.Fprintf(env.Stdout, "status list %s of %s: %d entries, %d revoked, %d suspended, issued %s, ttl %s\n",
		l.List, l.Issuer, l.Size, revoked, suspended, time.Unix(l.IssuedAt, 0).UTC().Format(time.RFC3339), time.Duration(l.TTL)*time.Second)
	fmt.Fprintf(env.Stdout, "wrote %s (%d bytes)\n", out, len(b))
	return nil
}

func statusSetCommand() Command {
	return Command{
		Name:    "status set",
		Summary: "set one entry of a status list and re-sign it",
		Setup: func(fs *flag.FlagSet) RunFunc {
			dir := fs.String("keys", "", "key `directory` holding the department key")
			in := fs.String("in", "", "status list `file` to read")
			out := fs.String("out", "", "status list `file` to write (may be the same as --in)")
			index := fs.Int("index", -1, "entry `index`")
			status := fs.String("status", "", "new status: valid, revoked or suspended")
			ttl := fs.Duration("ttl", 0, "new time to live (default: keep the list's)")
			return func(_ context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return Usagef("unexpected argument %q", args[0])
				}
				for _, f := range [][2]string{{"keys", *dir}, {"in", *in}, {"out", *out}, {"status", *status}} {
					if err := requireFlag(f[0], f[1], ""); err != nil {
						return err
					}
				}
				if *index < 0 {
					return Usagef("missing --index")
				}
				v, err := parseStatus(*status)
				if err != nil {
					return err
				}
				if *ttl != 0 {
					if err := checkTTL(*ttl); err != nil {
						return err
					}
				}
				raw, err := os.ReadFile(*in)
				if err != nil {
					return fmt.Errorf("read status list: %w", err)
				}
				s, l, err := format.ParseStatusList(raw)
				if err != nil {
					return fmt.Errorf("%s: %w", *in, err)
				}
				cert, err := readDeptCert(*dir, l.Issuer)
				if err != nil {
					return err
				}
				pub, err := certPublicKey(cert)
				if err != nil {
					return err
				}
				if err := s.Verify(pub); err != nil {
					if id := keys.IDOfDER(cert.RawSubjectPublicKeyInfo); string(id[:]) != string(l.KeyID) {
						return fmt.Errorf("%s was signed by key %x, not by department %s's key %s in %s", *in, l.KeyID, l.Issuer, id, *dir)
					}
					return fmt.Errorf("%s: %w", *in, err)
				}
				entries, err := l.Statuses()
				if err != nil {
					return fmt.Errorf("%s: %w", *in, err)
				}
				if *index >= entries.Len() {
					return Usagef("--index %d outside a list of %d entries", *index, entries.Len())
				}
				pair, err := loadDeptPair(*dir, l.Issuer)
				if err != nil {
					return err
				}
				old := entries.Get(*index)
				entries.Set(*index, v)
				id := pair.ID()
				l.Lst, l.KeyID = entries.Compress(), id[:]
				// issued-at never goes backwards, and a new list is always newer.
				l.IssuedAt = max(env.Now().Unix(), l.IssuedAt+1)
				if *ttl != 0 {
					l.TTL = uint32(*ttl / time.Second)
				}
				fmt.Fprintf(env.Stdout, "entry %d: %s -> %s\n", *index, old, v)
				return signStatus(env, pair, *l, *out)
			}
		},
	}
}
