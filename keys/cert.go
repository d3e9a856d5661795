package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Certificate validity periods used by [NewRootCertificate] and
// [NewIssuerCertificate].
const (
	RootValidity   = 20 * 365 * 24 * time.Hour
	IssuerValidity = 5 * 365 * 24 * time.Hour
)

// Subject names the holder of a certificate.
type Subject struct {
	// Code is the department or operator code, put in the serialNumber attribute.
	Code string
	// Name is the human-readable name, put in the common name.
	Name string
}

func (s Subject) name() pkix.Name {
	return pkix.Name{CommonName: s.Name, SerialNumber: s.Code, Country: []string{"CN"}, Organization: []string{s.Name}}
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewRootCertificate returns a self-signed SM2-with-SM3 CA certificate (DER)
// for the trust-list operator's root key.
func NewRootCertificate(root crypto.Signer, subject Subject, now time.Time) ([]byte, error) {
	pub, ok := root.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("root certificate: signer has no sm2 public key")
	}
	sn, err := serialNumber()
	if err != nil {
		return nil, err
	}
	spki, err := MarshalPublicKeyDER(pub)
	if err != nil {
		return nil, err
	}
	id := IDOfDER(spki)
	tmpl := &smx509.Certificate{
		SerialNumber:          sn,
		Subject:               subject.name(),
		NotBefore:             now.Add(-time.Minute).UTC(),
		NotAfter:              now.Add(RootValidity).UTC(),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign | smx509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          id[:],
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, root)
	if err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	return der, nil
}

// NewIssuerCertificate returns an SM2-with-SM3 end-entity certificate (DER)
// for a department's signing key pub, signed by the root.
func NewIssuerCertificate(rootCertDER []byte, root crypto.Signer, pub *ecdsa.PublicKey, subject Subject, now time.Time) ([]byte, error) {
	parent, err := smx509.ParseCertificate(rootCertDER)
	if err != nil {
		return nil, fmt.Errorf("issuer certificate: parse root: %w", err)
	}
	sn, err := serialNumber()
	if err != nil {
		return nil, err
	}
	spki, err := MarshalPublicKeyDER(pub)
	if err != nil {
		return nil, err
	}
	id := IDOfDER(spki)
	tmpl := &smx509.Certificate{
		SerialNumber:       sn,
		Subject:            subject.name(),
		NotBefore:          now.Add(-time.Minute).UTC(),
		NotAfter:           now.Add(IssuerValidity).UTC(),
		KeyUsage:           smx509.KeyUsageDigitalSignature,
		SubjectKeyId:       id[:],
		AuthorityKeyId:     parent.SubjectKeyId,
		SignatureAlgorithm: smx509.SM2WithSM3,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, pub, root)
	if err != nil {
		return nil, fmt.Errorf("issuer certificate: %w", err)
	}
	return der, nil
}

// CertificatePEM wraps certificate DER in a PEM "CERTIFICATE" block.
func CertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseCertificate parses a certificate from DER or PEM.
func ParseCertificate(data []byte) (*smx509.Certificate, error) {
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("parse certificate: PEM block %q, want CERTIFICATE", block.Type)
		}
		data = block.Bytes
	}
	c, err := smx509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return c, nil
}

// VerifyIssuerCertificate checks that cert was signed by root and is valid at now.
func VerifyIssuerCertificate(root, cert *smx509.Certificate, now time.Time) error {
	if err := cert.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("issuer certificate not signed by root: %w", err)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("issuer certificate not valid at %s", now.UTC().Format(time.RFC3339))
	}
	return nil
}
