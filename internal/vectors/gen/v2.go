package main

import (
	"bytes"
	"fmt"
	"time"

	"elicence/format"
	"elicence/internal/vectors"
)

// Format version 2 (docs/FORMAT.md §4–§5.1): compact credentials, Base41
// texts and QR URLs. The version-1 files above stay byte for byte as they
// were; version 2 adds its own trust list (the same list with catalogue
// numbers) and status lists named as the issuer names them.

// ReferenceBaseURL is the 30-character public URL the vectors' QR URLs are
// made under (the budget of issue 12: a 30-character base URL).
const ReferenceBaseURL = "https://yzm.zwfw.fujian.gov.cn"

const trustFileV2 = "trust-v2.cbor"

var (
	statusListV2 uint32 = 1
	statusAV2           = "status-v2-" + format.StatusListName(deptA, statusListV2) + ".cbor"
	statusBV2           = "status-v2-" + format.StatusListName(deptB, statusListV2) + ".cbor"
)

// Catalogue numbers of the demo types in trust-v2.cbor.
const (
	numberBusiness = 1
	numberDriving  = 2
)

func v2(v *vectors.Vector) {
	v.Trust = trustFileV2
	v.Status = []string{statusA, statusB, statusAV2, statusBV2}
}

// compact signs the compact form of the credential c describes.
func (g *generator) compact(c cred, typeNumber uint32) (format.Signed, error) {
	cr, _, err := g.unsigned(c)
	if err != nil {
		return format.Signed{}, err
	}
	cc, err := cr.Compact(typeNumber, statusListV2)
	if err != nil {
		return format.Signed{}, err
	}
	if c.keyID != nil {
		cc.ShortKeyID = c.keyID[:format.ShortKeyIDSize]
	}
	return format.SignCompactCredential(c.key.signer(), *cc)
}

func (g *generator) v2Vectors(valid, beforeRetire format.Signed) error {
	root, a, b := g.keys[rootSpec.file], g.keys[deptASpec.file], g.keys[deptBSpec.file]
	tl := g.trustList()
	for i := range tl.Types {
		switch tl.Types[i].Code {
		case businessRequest.Type:
			tl.Types[i].Number = numberBusiness
		case drivingRequest.Type:
			tl.Types[i].Number = numberDriving
		case expiredRequest.Type:
			tl.Types[i].Number = 3
		}
	}
	for i := range tl.Departments {
		tl.Departments[i].StatusURL = "https://status.example.gov.cn/v2/{list}"
	}
	st, err := format.SignTrustList(root.signer(), tl)
	if err != nil {
		return err
	}
	if err := g.write(trustFileV2, st.Encode()); err != nil {
		return err
	}
	sa, err := g.statusListNamed(a, deptA, format.StatusListName(deptA, statusListV2), map[int]format.Status{indexRevoked: format.StatusRevoked, indexSuspended: format.StatusSuspended})
	if err != nil {
		return err
	}
	sb, err := g.statusListNamed(b, deptB, format.StatusListName(deptB, statusListV2), nil)
	if err != nil {
		return err
	}
	if err := g.write(statusAV2, sa); err != nil {
		return err
	}
	if err := g.write(statusBV2, sb); err != nil {
		return err
	}

	ref, err := g.compact(cred{key: a, issuer: deptA, req: businessRequest, serial: "00000001", index: 4242}, numberBusiness)
	if err != nil {
		return err
	}
	refText := format.QRText2(format.KindCredential, ref)
	refURL, err := format.QRURL(ReferenceBaseURL, format.KindCredential, ref)
	if err != nil {
		return err
	}
	driving, err := g.compact(cred{key: a, issuer: deptA, req: drivingRequest, serial: "00000002", index: 4243}, numberDriving)
	if err != nil {
		return err
	}
	revoked, err := g.compact(cred{key: a, issuer: deptA, req: businessRequest, serial: "00000003", index: indexRevoked}, numberBusiness)
	if err != nil {
		return err
	}
	unknownKey, err := g.compact(cred{key: g.keys[outsiderSpec.file], issuer: deptA, req: businessRequest, serial: "00000009", index: 4247}, numberBusiness)
	if err != nil {
		return err
	}
	unknownType, err := g.compact(cred{key: a, issuer: deptA, req: businessRequest, serial: "00000017", index: 4255}, 99)
	if err != nil {
		return err
	}
	notAuthorised, err := g.compact(cred{key: b, issuer: deptB, req: drivingRequest, serial: "00000011", index: 4249}, numberDriving)
	if err != nil {
		return err
	}
	compromisedKey, err := g.compact(cred{key: g.keys[compromised.file], issuer: deptA, req: businessRequest, serial: "00000012", index: 4250, issuedAt: t0.Add(-5 * day)}, numberBusiness)
	if err != nil {
		return err
	}
	pres, err := format.SignPresentation(a.signer(), format.Presentation{
		Credential: ref.Encode(), NotBefore: t0.Add(-20 * time.Second).Unix(), Expires: t0.Add(40 * time.Second).Unix(), Nonce: []byte("vectors!"),
	})
	if err != nil {
		return err
	}
	presURL, err := format.QRURL(ReferenceBaseURL, format.KindPresentation, pres)
	if err != nil {
		return err
	}
	ann, err := format.SignAnnotatedCopy(a.signer(), format.AnnotatedCopy{
		Credential: ref.Encode(), Relying: deptB, Purpose: "办理食品经营许可申请", IssuedAt: t0.Add(-day).Unix(), Expires: t0.Add(6 * day).Unix(),
		Nonce: []byte("vectors!"),
	})
	if err != nil {
		return err
	}
	annURL, err := format.QRURL(ReferenceBaseURL, format.KindAnnotatedCopy, ann)
	if err != nil {
		return err
	}
	// A retired key's presentation of an old credential, in version 2.
	presOld, err := format.SignPresentation(a.signer(), format.Presentation{
		Credential: valid.Encode(), NotBefore: t0.Add(-20 * time.Second).Unix(), Expires: t0.Add(40 * time.Second).Unix(), Nonce: []byte("vectors!"),
	})
	if err != nil {
		return err
	}

	env := ref.Encode()
	flipped := bytes.Clone(env)
	flipped[len(flipped)-1] ^= 1
	base, err := format.URLBase(ReferenceBaseURL)
	if err != nil {
		return err
	}
	if len(refURL) != len(base)+len(refText) {
		return fmt.Errorf("qr url %q is not its base and text", refURL)
	}
	text2 := func(s format.Signed) string { return format.QRText2(format.KindCredential, s) }
	badChar := refText[:10] + "/" + refText[11:]
	lowerHost := "https://yzm.zwfw.fujian.gov.cn" + format.URLPath + refText
	otherHost := "HTTP://127.0.0.1:8080/ANY/PATH/" + refText
	v1InURL := base + format.PrefixCredential + format.EncodeBase45(valid.Encode())[:30]
	compactInV1 := format.PrefixCredential + format.EncodeBase45(env)

	for _, v := range []struct {
		name, expect string
		comment      string
		text         string
		opts         []func(*vectors.Vector)
	}{
		{"v2_credential_valid", "PASSED", "the reference business licence (营业执照) in format version 2: a compact credential in Base41", refText, nil},
		{"v2_credential_url", "PASSED", "the same credential as the QR URL of a 30-character public URL: a phone camera opens it", refURL, nil},
		{"v2_credential_url_lower_host", "PASSED", "the QR URL with its scheme and host in lower case, as a browser writes it: the host is not trusted", lowerHost, nil},
		{"v2_credential_url_other_host", "PASSED", "the same text under another host and path: trust comes from the signatures, not the host", otherHost, nil},
		{"v2_credential_v1_layout", "PASSED", "a version-1 credential (kind 1, as issued before version 2) in a version-2 text", text2(valid), nil},
		{"v2_credential_valid_driving", "PASSED", "a compact driving licence; the holder's citizen ID number is masked", text2(driving), nil},
		{"v2_presentation_url", "PASSED", "a presentation of the compact credential, as a QR URL", presURL, nil},
		{"v2_presentation_v1_layout", "PASSED", "a version-2 presentation of a version-1 credential", format.QRText2(format.KindPresentation, presOld), nil},
		{"v2_annotated_url", "PASSED", "an annotated copy as a QR URL, shown to the department it names", annURL, []func(*vectors.Vector){department(deptB)}},
		{"v2_annotated_url_public", "FAILED WRONG_RELYING_DEPARTMENT", "the annotated copy's URL opened on a public verifier, which acts for no department", annURL, nil},
		{"v2_revoked", "FAILED REVOKED", "a compact credential whose entry 100 in list " + format.StatusListName(deptA, statusListV2) + " is 1 (revoked)", text2(revoked), nil},
		{"v2_unknown_key", "FAILED UNKNOWN_KEY", "a short key id that no key of the trust list has", text2(unknownKey), nil},
		{"v2_type_unknown_number", "FAILED TYPE_NOT_AUTHORISED", "type number 99, which the trust list's catalogue does not have", text2(unknownType), nil},
		{"v2_type_not_authorised", "FAILED TYPE_NOT_AUTHORISED", "catalogue number 2 (a driving licence) from a department that may not issue it", text2(notAuthorised), nil},
		{"v2_key_compromised", "FAILED KEY_COMPROMISED", "a compact credential by a key marked compromised 10 days ago", text2(compromisedKey), nil},
		{"v2_signature_flipped", "FAILED SIG_CRYPTO_FAILURE", "the last byte of the signature flipped", format.PrefixCredential2 + format.EncodeBase41(flipped), nil},
		{"v2_base41_invalid", "FAILED ENCODING_FAILURE", "a '/', which is Base45 but not Base41", badChar, nil},
		{"v2_url_query", "FAILED UNSUPPORTED_FORMAT", "the QR URL with a query string: an elicence URL has none", refURL + "?FROM=WECHAT", nil},
		{"v2_url_v1_text", "FAILED UNSUPPORTED_FORMAT", "a URL ending in a version-1 text: URLs carry version-2 texts only", v1InURL, nil},
		{"v2_compact_in_v1_text", "FAILED FORMAT_FAILURE", "a compact credential (kind 6) in a version-1 text, which holds kind 1 only", compactInV1, nil},
	} {
		opts := append([]func(*vectors.Vector){v2}, v.opts...)
		if err := g.vector(v.name, v.expect, t0, v.comment, v.text, opts...); err != nil {
			return err
		}
	}
	_ = beforeRetire
	return nil
}
