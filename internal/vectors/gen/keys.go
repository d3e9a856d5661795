package main

import (
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"elicence/internal/vectors"
	"elicence/issuer"
	"elicence/keys"
)

// Codes of the departments in the vectors.
const (
	deptA         = issuer.DemoDepartmentCode  // issues everything
	deptB         = issuer.DemoDepartment2Code // may not issue driving licences
	unknownIssuer = "11350100MB00000051"       // in no trust list
)

// keySpec is one key of the vectors.
type keySpec struct {
	file    string // base name in the keys directory
	subject keys.Subject
}

var (
	rootSpec     = keySpec{"root", keys.Subject{Code: issuer.DemoRootCode, Name: "测试根（仅供测试）"}}
	deptASpec    = keySpec{"dept-a", keys.Subject{Code: deptA, Name: "示例市市场监督管理局"}}
	compromised  = keySpec{"dept-a-compromised", keys.Subject{Code: deptA, Name: "示例市市场监督管理局"}}
	retired      = keySpec{"dept-a-retired", keys.Subject{Code: deptA, Name: "示例市市场监督管理局"}}
	deptBSpec    = keySpec{"dept-b", keys.Subject{Code: deptB, Name: "示例区市场监督管理局"}}
	outsiderSpec = keySpec{"outsider", keys.Subject{Code: unknownIssuer, Name: "不在信任列表中的部门"}}
	issuerSpecs  = []keySpec{deptASpec, compromised, retired, deptBSpec, outsiderSpec}
)

// certTime is the notBefore of the vectors' certificates.
var certTime = t0.AddDate(-1, 0, 0)

// createKeys writes a new root key and the department keys into dir.
func createKeys(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pass := []byte(vectors.Passphrase)
	root, err := keys.Generate(nil)
	if err != nil {
		return err
	}
	rootCert, err := keys.NewRootCertificate(root, rootSpec.subject, certTime)
	if err != nil {
		return err
	}
	if err := writeKey(dir, rootSpec.file, root, rootCert, pass); err != nil {
		return err
	}
	for _, s := range issuerSpecs {
		k, err := keys.Generate(nil)
		if err != nil {
			return err
		}
		cert, err := keys.NewIssuerCertificate(rootCert, root, &k.PublicKey, s.subject, certTime)
		if err != nil {
			return err
		}
		if err := writeKey(dir, s.file, k, cert, pass); err != nil {
			return err
		}
	}
	return nil
}

func writeKey(dir, name string, k *sm2.PrivateKey, certDER, pass []byte) error {
	keyPEM, err := keys.MarshalPrivateKey(k, pass)
	if err != nil {
		return err
	}
	pubPEM, err := keys.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		ext  string
		data []byte
	}{{"key", keyPEM}, {"crt", keys.CertificatePEM(certDER)}, {"pub", pubPEM}} {
		if err := os.WriteFile(filepath.Join(dir, name+"."+f.ext), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// vectorKey is a loaded key of the vectors.
type vectorKey struct {
	key  *sm2.PrivateKey
	cert *smx509.Certificate
	id   keys.ID
}

// signer signs deterministically: nil randomness makes gmsm derive the SM2
// nonce from the key and message (RFC 6979 with SM3), so that re-running the
// generator gives identical bytes.
func (k *vectorKey) signer() crypto.Signer { return detSigner{k.key} }

type detSigner struct{ k *sm2.PrivateKey }

func (s detSigner) Public() crypto.PublicKey { return s.k.Public() }

func (s detSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(nil, msg, opts)
}

func loadKey(dir string, s keySpec) (*vectorKey, error) {
	p, err := keys.LoadPair(dir, s.file+".key", s.file+".crt", []byte(vectors.Passphrase))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", s.file, err)
	}
	return &vectorKey{key: p.Key, cert: p.Cert, id: p.ID()}, nil
}
