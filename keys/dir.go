package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// File names inside a key directory. Department files are named after the
// department code: dept-<CODE>.key, dept-<CODE>.crt, dept-<CODE>.pub.
const (
	RootKeyFile  = "root.key"
	RootCertFile = "root.crt"
	RootPubFile  = "root.pub"
)

// DeptFile returns the file name of a department's key material with the
// given extension ("key", "crt" or "pub").
func DeptFile(code, ext string) string { return "dept-" + code + "." + ext }

// Pair is a private key with its certificate.
type Pair struct {
	Key  *sm2.PrivateKey
	Cert *smx509.Certificate
}

// ID returns the key ID of the pair's public key.
func (p Pair) ID() ID {
	return IDOfDER(p.Cert.RawSubjectPublicKeyInfo)
}

// InitDir creates dir (mode 0700) and writes a new root key and certificate
// and one department key with its certificate signed by the root. Private
// keys are encrypted with passphrase. It refuses to overwrite existing files.
func InitDir(dir string, passphrase []byte, root, dept Subject, now time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RootKeyFile)); err == nil {
		return fmt.Errorf("key directory %s already has %s: refusing to overwrite", dir, RootKeyFile)
	}
	rootKey, err := Generate(nil)
	if err != nil {
		return err
	}
	rootCert, err := NewRootCertificate(rootKey, root, now)
	if err != nil {
		return err
	}
	if err := writeKeyFiles(dir, RootKeyFile, RootCertFile, RootPubFile, rootKey, rootCert, passphrase); err != nil {
		return err
	}
	_, err = AddDepartment(dir, passphrase, dept, now)
	return err
}

// AddDepartment creates a new signing key for dept in dir, certified by the
// root key found there, and returns it.
func AddDepartment(dir string, passphrase []byte, dept Subject, now time.Time) (Pair, error) {
	root, err := LoadPair(dir, RootKeyFile, RootCertFile, passphrase)
	if err != nil {
		return Pair{}, err
	}
	k, err := Generate(nil)
	if err != nil {
		return Pair{}, err
	}
	der, err := NewIssuerCertificate(root.Cert.Raw, root.Key, &k.PublicKey, dept, now)
	if err != nil {
		return Pair{}, err
	}
	if err := writeKeyFiles(dir, DeptFile(dept.Code, "key"), DeptFile(dept.Code, "crt"), DeptFile(dept.Code, "pub"), k, der, passphrase); err != nil {
		return Pair{}, err
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return Pair{}, err
	}
	return Pair{Key: k, Cert: cert}, nil
}

func writeKeyFiles(dir, keyName, certName, pubName string, k *sm2.PrivateKey, certDER, passphrase []byte) error {
	keyPEM, err := MarshalPrivateKey(k, passphrase)
	if err != nil {
		return err
	}
	pubPEM, err := MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		return err
	}
	if err := WriteSecretFile(filepath.Join(dir, keyName), keyPEM); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, certName), CertificatePEM(certDER), 0o644); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, pubName), pubPEM, 0o644); err != nil {
		return fmt.Errorf("write public key: %w", err)
	}
	return nil
}

// LoadPair reads and decrypts a private key and its certificate from dir.
func LoadPair(dir, keyName, certName string, passphrase []byte) (Pair, error) {
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Pair{}, fmt.Errorf("no key %s in %s (run `elicence keys init` first)", keyName, dir)
		}
		return Pair{}, err
	}
	k, err := ParsePrivateKey(keyPEM, passphrase)
	if err != nil {
		return Pair{}, fmt.Errorf("%s: %w", keyName, err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, certName))
	if err != nil {
		return Pair{}, err
	}
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return Pair{}, fmt.Errorf("%s: %w", certName, err)
	}
	if !k.PublicKey.Equal(cert.PublicKey) {
		return Pair{}, fmt.Errorf("%s does not certify the key in %s", certName, keyName)
	}
	return Pair{Key: k, Cert: cert}, nil
}
