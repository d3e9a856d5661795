package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"elicence/issuer/store"
	"elicence/keys"
	"elicence/tlog"
)

// WitnessKeyFile is the name of the trust-list operator's encrypted
// witness key, kept beside the root key (see LoadWitnessKey).
const WitnessKeyFile = "witness.key"

// DefaultLogHost is the host of the log origins when no public URL is
// configured: a log origin names the log for good, so it is a fixed name
// rather than whatever address the process happens to listen on.
const DefaultLogHost = "localhost"

// logOriginHost returns the part of the origins before "/tlog/": the
// public URL without its scheme (host and path prefix), or DefaultLogHost.
func logOriginHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if publicURL == "" || err != nil || u.Host == "" {
		return DefaultLogHost
	}
	return u.Host + strings.TrimRight(u.EscapedPath(), "/")
}

// ErrNoWitnessKey reports a witness key file that is missing and cannot
// be created (a read-only key directory, say): the issuer may run without
// co-signing checkpoints.
var ErrNoWitnessKey = errors.New("no witness key, and it cannot be created")

// LoadWitnessKey reads the witness key from dir/witness.key (encrypted
// with passphrase), creating it first when missing. The witness key is the
// trust-list operator's, like the root key, and of its own: it co-signs
// the departments' checkpoints (docs/FORMAT.md §17). created reports a new
// key.
func LoadWitnessKey(dir string, passphrase []byte) (key crypto.Signer, created bool, err error) {
	path := filepath.Join(dir, WitnessKeyFile)
	pem, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := keys.Generate(rand.Reader)
		if err != nil {
			return nil, false, err
		}
		if pem, err = keys.MarshalPrivateKey(k, passphrase); err != nil {
			return nil, false, err
		}
		if err := keys.WriteSecretFile(path, pem); err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", ErrNoWitnessKey, path, err)
		}
		created = true
	} else if err != nil {
		return nil, false, fmt.Errorf("read witness key: %w", err)
	}
	k, err := keys.ParsePrivateKey(pem, passphrase)
	if err != nil {
		return nil, false, fmt.Errorf("witness key %s: %w", path, err)
	}
	sk, err := keys.NewSM2Key(k)
	if err != nil {
		return nil, false, err
	}
	return sk, created, nil
}

// logSigner is a department's decrypted checkpoint key.
type logSigner struct {
	origin   string
	signer   note.Signer
	verifier note.Verifier
	// spki is the public key's SubjectPublicKeyInfo DER.
	spki []byte
}

// logKey returns the department's stored log origin and checkpoint key,
// making them the first time (with create) with the origin the current
// public URL gives: once stored, a department's origin never changes,
// whatever the public URL becomes. A key made concurrently by another
// process wins and is read back. Without create, a department with none
// is ErrNoLog.
func (s *Logs) logKey(ctx context.Context, dept string, create bool) (store.LogKey, error) {
	s.mu.Lock()
	k, ok := s.stored[dept]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	v, err, _ := s.flight.Do("key/"+dept, func() (any, error) {
		k, err := s.store.LogKey(ctx, dept)
		if errors.Is(err, store.ErrNotFound) && create {
			k, err = s.createCheckpointKey(ctx, dept)
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoLog
		}
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.stored[dept] = k
		s.mu.Unlock()
		return k, nil
	})
	if err != nil {
		return store.LogKey{}, err
	}
	return v.(store.LogKey), nil
}

// checkpointKey returns the department's decrypted checkpoint key (see
// logKey).
func (s *Logs) checkpointKey(ctx context.Context, dept string) (*logSigner, error) {
	s.mu.Lock()
	ls := s.keys[dept]
	s.mu.Unlock()
	if ls != nil {
		return ls, nil
	}
	k, err := s.logKey(ctx, dept, true)
	if err != nil {
		return nil, err
	}
	v, err, _ := s.flight.Do("signer/"+dept, func() (any, error) {
		priv, err := s.decryptKey(k.PrivateKeyPEM, s.passphrase)
		if err != nil {
			return nil, fmt.Errorf("checkpoint key of %s: %w", dept, err)
		}
		sk, err := keys.NewSM2Key(priv)
		if err != nil {
			return nil, err
		}
		signer, err := tlog.NewNoteSigner(k.Origin, sk)
		if err != nil {
			return nil, err
		}
		vkey, err := tlog.VerifierKey(k.Origin, tlog.NoteSigType, sk.Public().(*ecdsa.PublicKey))
		if err != nil {
			return nil, err
		}
		verifier, err := tlog.NewNoteVerifier(vkey)
		if err != nil {
			return nil, err
		}
		ls := &logSigner{origin: k.Origin, signer: signer, verifier: verifier, spki: k.PublicKey}
		s.mu.Lock()
		s.keys[dept] = ls
		s.mu.Unlock()
		return ls, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*logSigner), nil
}

func (s *Logs) createCheckpointKey(ctx context.Context, dept string) (store.LogKey, error) {
	priv, err := keys.Generate(rand.Reader)
	if err != nil {
		return store.LogKey{}, err
	}
	pem, err := keys.MarshalPrivateKey(priv, s.passphrase)
	if err != nil {
		return store.LogKey{}, err
	}
	spki, err := keys.MarshalPublicKeyDER(&priv.PublicKey)
	if err != nil {
		return store.LogKey{}, err
	}
	origin := s.host + "/tlog/" + dept
	detail := fmt.Appendf(nil, `{"department":%q,"origin":%q}`, dept, origin)
	k, err := s.store.AddLogKey(ctx, store.LogKey{DepartmentCode: dept, Origin: origin, PublicKey: spki, PrivateKeyPEM: pem},
		store.AuditEvent{Actor: "issuer", Action: "log.key.create", Subject: dept, Detail: detail})
	if errors.Is(err, store.ErrDuplicate) {
		return s.store.LogKey(ctx, dept)
	}
	if err == nil {
		s.log.Info("issuance log: origin and checkpoint key created", "department", dept, "origin", origin)
	}
	return k, err
}
