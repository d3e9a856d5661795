package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"elicence/format"
	"elicence/internal/vectors"
	"elicence/issuer"
	"elicence/keys"
)

// t0 is the fixed clock of the vectors: most verify at t0.
var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	day        = 24 * time.Hour
	trustFile  = "trust.cbor"
	statusList = "1"
)

var (
	statusA = "status-" + deptA + "-" + statusList + ".cbor"
	statusB = "status-" + deptB + "-" + statusList + ".cbor"
)

// Status list entries with a fixed meaning in dept A's list.
const (
	indexRevoked   = 100
	indexSuspended = 101
	indexUnknown   = 102 // holds the undefined value 3
)

// Requests the vectors' credentials are made from.
var (
	businessRequest = issuer.Request{
		Type: issuer.TypeBusinessLicence, HolderName: "福州示例科技有限公司", HolderID: "91350100M000100Y43",
		ValidFrom: "2024-05-20", ValidUntil: "长期",
		Fields: map[string]string{"lr": "张三", "ra": "福建省福州市鼓楼区五四路158号", "rc": "壹佰万元整"},
	}
	drivingRequest = issuer.Request{
		Type: issuer.TypeDrivingLicence, HolderName: "陈思远", HolderID: "350102199003071525",
		ValidFrom: "2022-03-15",
		Fields:    map[string]string{"cc": "C1", "fi": "2016-03-15", "ad": "福建省福州市台江区示例路8号"},
	}
	expiredRequest = issuer.Request{
		Type: issuer.TypeFoodPermit, HolderName: "福州示例餐饮管理有限公司", HolderID: "91350100M000200Y4T",
		ValidFrom: "2020-01-01", ValidUntil: "2025-12-31",
		Fields: map[string]string{"pn": "JY13501020000012", "ba": "福建省福州市鼓楼区示例街9号"},
	}
	futureRequest = issuer.Request{
		Type: issuer.TypeFoodPermit, HolderName: "福州示例餐饮管理有限公司", HolderID: "91350100M000200Y4T",
		ValidFrom: "2026-07-01", ValidUntil: "2031-06-30",
		Fields: map[string]string{"pn": "JY13501020000029", "ba": "福建省福州市鼓楼区示例街9号"},
	}
)

type generator struct {
	out  string
	keys map[string]*vectorKey
	// files lists every file written, relative to out.
	files []string
}

// generate loads the keys in keyDir and writes every vector and support
// file into out, returning their names.
func generate(keyDir, out string) ([]string, error) {
	g := &generator{out: out, keys: map[string]*vectorKey{}}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	for _, s := range append([]keySpec{rootSpec}, issuerSpecs...) {
		k, err := loadKey(keyDir, s)
		if err != nil {
			return nil, err
		}
		g.keys[s.file] = k
	}
	if err := g.run(); err != nil {
		return nil, err
	}
	return g.files, nil
}

func (g *generator) write(name string, data []byte) error {
	g.files = append(g.files, name)
	return os.WriteFile(filepath.Join(g.out, name), data, 0o644)
}

func (g *generator) trustList() format.TrustList {
	var infos []format.TypeInfo
	for _, t := range issuer.DemoTypes() {
		ti := t.Info()
		ti.Number = 0 // trust.cbor is the version-1 list; trustListV2 numbers them
		infos = append(infos, ti)
	}
	key := func(k *vectorKey, st format.KeyState, since time.Time) format.TrustedKey {
		tk := format.TrustedKey{ID: k.id[:], PublicKey: k.cert.RawSubjectPublicKeyInfo, State: st, Certificate: k.cert.Raw}
		if st != format.KeyActive {
			tk.Since = since.Unix()
		}
		return tk
	}
	return format.TrustList{
		Sequence: 1, IssuedAt: t0.Add(-day).Unix(), NextUpdate: t0.Add(30 * day).Unix(), Types: infos,
		Departments: []format.Department{
			{
				Code: deptA, Name: deptASpec.subject.Name,
				Types:     []string{issuer.TypeBusinessLicence, issuer.TypeDrivingLicence, issuer.TypeFoodPermit},
				StatusURL: "https://status.example.gov.cn/" + deptA + "/{list}",
				Keys: []format.TrustedKey{
					key(g.keys[deptASpec.file], format.KeyActive, time.Time{}),
					key(g.keys[compromised.file], format.KeyCompromised, t0.Add(-10*day)),
					key(g.keys[retired.file], format.KeyRetired, t0.Add(-10*day)),
				},
			},
			{
				Code: deptB, Name: deptBSpec.subject.Name,
				Types:     []string{issuer.TypeBusinessLicence, issuer.TypeFoodPermit},
				StatusURL: "https://status.example.gov.cn/" + deptB + "/{list}",
				Keys:      []format.TrustedKey{key(g.keys[deptBSpec.file], format.KeyActive, time.Time{})},
			},
		},
	}
}

func (g *generator) statusList(k *vectorKey, code string, set map[int]format.Status) ([]byte, error) {
	return g.statusListNamed(k, code, statusList, set)
}

func (g *generator) statusListNamed(k *vectorKey, code, list string, set map[int]format.Status) ([]byte, error) {
	entries := format.NewStatuses(format.MinStatusListSize, format.StatusBits)
	for i, v := range set {
		entries.Set(i, v)
	}
	s, err := format.SignStatusList(k.signer(), format.StatusList{
		Issuer: code, List: list, IssuedAt: t0.Add(-time.Hour).Unix(), TTL: 3600,
		Bits: format.StatusBits, Size: format.MinStatusListSize, Lst: entries.Compress(), KeyID: k.id[:],
	})
	if err != nil {
		return nil, err
	}
	return s.Encode(), nil
}

// cred describes one credential to sign.
type cred struct {
	key      *vectorKey
	issuer   string
	req      issuer.Request
	serial   string
	index    uint32
	list     string
	issuedAt time.Time
	keyID    []byte // overrides the signing key's ID
}

// credential builds and signs a credential as the issuer does, with a salt
// derived from the serial instead of a random one.
func (g *generator) credential(c cred) (format.Signed, *format.Record, error) {
	cr, rec, err := g.unsigned(c)
	if err != nil {
		return format.Signed{}, nil, err
	}
	s, err := format.SignCredential(c.key.signer(), *cr)
	return s, rec, err
}

// unsigned builds the credential c describes, unsigned.
func (g *generator) unsigned(c cred) (*format.Credential, *format.Record, error) {
	var typ *issuer.LicenceType
	for _, t := range issuer.DemoTypes() {
		if t.Code == c.req.Type {
			typ = &t
		}
	}
	if c.issuedAt.IsZero() {
		c.issuedAt = t0.Add(-30 * day)
	}
	if c.list == "" {
		c.list = statusList
	}
	v, err := c.req.Validate(typ, c.issuedAt)
	if err != nil {
		return nil, nil, err
	}
	keyID := c.keyID
	if keyID == nil {
		keyID = c.key.id[:]
	}
	d := &issuer.Draft{
		Validated: v, Type: typ, IssuerCode: c.issuer, Serial: c.serial, Version: 1,
		Status: format.StatusRef{List: c.list, Index: c.index}, KeyID: keyID, IssuedAt: c.issuedAt,
	}
	rec, cr, err := d.Build()
	if err != nil {
		return nil, nil, err
	}
	salt := sm3.Sum([]byte("elicence test vector salt " + c.serial))
	rec.Salt = salt[:16]
	cr.RecordDigest = rec.Digest()
	return cr, rec, nil
}

func (g *generator) vector(name, expect string, now time.Time, comment, text string, opts ...func(*vectors.Vector)) error {
	ind, sub, _ := strings.Cut(expect, " ")
	v := &vectors.Vector{
		Name: name, Indication: ind, SubIndication: sub, Now: now, Trust: trustFile,
		Status: []string{statusA, statusB}, Comment: comment, Text: text,
	}
	for _, o := range opts {
		o(v)
	}
	return g.write(name, v.Marshal())
}

// vectorSpec is one vector: its name (the file), the verdict expected
// ("INDICATION SUB_INDICATION"), the verifier's clock, what it shows, and
// the QR text; opts set the rest (e.g. the relying department).
type vectorSpec struct {
	name, expect string
	now          time.Time
	comment      string
	text         string
	opts         []func(*vectors.Vector)
}

func department(code string) func(*vectors.Vector) {
	return func(v *vectors.Vector) { v.Department = code }
}

func (g *generator) run() error {
	root, a, b := g.keys[rootSpec.file], g.keys[deptASpec.file], g.keys[deptBSpec.file]
	tl, err := format.SignTrustList(root.signer(), g.trustList())
	if err != nil {
		return err
	}
	if err := g.write(trustFile, tl.Encode()); err != nil {
		return err
	}
	sa, err := g.statusList(a, deptA, map[int]format.Status{indexRevoked: format.StatusRevoked, indexSuspended: format.StatusSuspended, indexUnknown: 3})
	if err != nil {
		return err
	}
	sb, err := g.statusList(b, deptB, nil)
	if err != nil {
		return err
	}
	if err := g.write(statusA, sa); err != nil {
		return err
	}
	if err := g.write(statusB, sb); err != nil {
		return err
	}

	// The valid business licence, and everything made from it.
	valid, rec, err := g.credential(cred{key: a, issuer: deptA, req: businessRequest, serial: "00000001", index: 4242})
	if err != nil {
		return err
	}
	if err := g.write("credential_valid.record.cbor", rec.Encode()); err != nil {
		return err
	}
	validText := format.QRText(format.KindCredential, valid)
	env := valid.Encode()
	qr := func(b []byte) string { return format.PrefixCredential + format.EncodeBase45(b) }
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}

	// Non-canonical envelope: the signature's length written in two bytes.
	nonCanonEnv := bytes.Clone(env)
	sigHeader := len(nonCanonEnv) - 64 - 2
	if nonCanonEnv[sigHeader] != 0x58 || nonCanonEnv[sigHeader+1] != 0x40 {
		return fmt.Errorf("unexpected signature header % x", nonCanonEnv[sigHeader:sigHeader+2])
	}
	nonCanonEnv = append(append(nonCanonEnv[:sigHeader:sigHeader], 0x59, 0x00, 0x40), env[sigHeader+2:]...)

	// Non-canonical payload, properly signed: the version 1 written as 0x18 0x01.
	i := bytes.Index(valid.Payload, []byte{0x04, 0x01, 0x05})
	if i < 0 {
		return fmt.Errorf("version not found in payload")
	}
	ncPayload := append(append(bytes.Clone(valid.Payload[:i+1]), 0x18, 0x01), valid.Payload[i+2:]...)
	ncSig, err := signRaw(a, ncPayload)
	if err != nil {
		return err
	}
	nonCanonPayload := format.Signed{Payload: ncPayload, Signature: ncSig}

	// One byte of the serial changed: still a well-formed credential.
	serialAt := bytes.Index(env, []byte("00000001"))
	if serialAt < 0 {
		return fmt.Errorf("serial not found")
	}
	payloadFlipped := flip(env, serialAt+7) // "00000001" becomes "00000000"

	// The other credentials, by name: each a spec of what is signed.
	out := g.keys[outsiderSpec.file]
	ck, rk := g.keys[compromised.file], g.keys[retired.file]
	creds := map[string]format.Signed{}
	for _, c := range []struct {
		name string
		cred
	}{
		{"driving", cred{key: a, issuer: deptA, req: drivingRequest, serial: "00000002", index: 4243}},
		{"revoked", cred{key: a, issuer: deptA, req: businessRequest, serial: "00000003", index: indexRevoked}},
		{"suspended", cred{key: a, issuer: deptA, req: businessRequest, serial: "00000004", index: indexSuspended}},
		{"unknown status", cred{key: a, issuer: deptA, req: businessRequest, serial: "00000005", index: indexUnknown}},
		{"expired", cred{key: a, issuer: deptA, req: expiredRequest, serial: "00000006", index: 4244, issuedAt: t0.AddDate(-6, 0, 0)}},
		{"future", cred{key: a, issuer: deptA, req: futureRequest, serial: "00000007", index: 4245}},
		{"missing list", cred{key: a, issuer: deptA, req: businessRequest, serial: "00000008", index: 4246, list: "9"}},
		{"unknown key", cred{key: out, issuer: deptA, req: businessRequest, serial: "00000009", index: 4247}},
		{"unknown issuer", cred{key: out, issuer: unknownIssuer, req: businessRequest, serial: "00000010", index: 4248}},
		{"not authorised", cred{key: b, issuer: deptB, req: drivingRequest, serial: "00000011", index: 4249}},
		{"after compromise", cred{key: ck, issuer: deptA, req: businessRequest, serial: "00000012", index: 4250, issuedAt: t0.Add(-5 * day)}},
		{"before compromise", cred{key: ck, issuer: deptA, req: businessRequest, serial: "00000013", index: 4251, issuedAt: t0.Add(-20 * day)}},
		{"after retire", cred{key: rk, issuer: deptA, req: businessRequest, serial: "00000014", index: 4252, issuedAt: t0.Add(-5 * day)}},
		{"before retire", cred{key: rk, issuer: deptA, req: businessRequest, serial: "00000015", index: 4253, issuedAt: t0.Add(-20 * day)}},
		{"future dated", cred{key: a, issuer: deptA, req: businessRequest, serial: "00000016", index: 4254, issuedAt: t0.Add(time.Hour)}},
	} {
		s, _, err := g.credential(c.cred)
		if err != nil {
			return fmt.Errorf("credential %s: %w", c.name, err)
		}
		creds[c.name] = s
	}

	// Presentations and annotated copies, by name: each its signing key,
	// credential and times.
	texts := map[string]string{}
	for _, p := range []struct {
		name    string
		key     *vectorKey
		cred    []byte
		nb, exp time.Time
	}{
		{"too long", a, env, t0.Add(-20 * time.Second), t0.Add(day)},
		{"retired", rk, creds["before retire"].Encode(), t0.Add(-20 * time.Second), t0.Add(40 * time.Second)},
		{"valid", a, env, t0.Add(-20 * time.Second), t0.Add(40 * time.Second)},
		{"expired", a, env, t0.Add(-10 * time.Minute), t0.Add(-9 * time.Minute)},
		{"future", a, env, t0.Add(5 * time.Minute), t0.Add(6 * time.Minute)},
	} {
		s, err := format.SignPresentation(p.key.signer(), format.Presentation{
			Credential: p.cred, NotBefore: p.nb.Unix(), Expires: p.exp.Unix(), Nonce: []byte("vectors!"),
		})
		if err != nil {
			return fmt.Errorf("presentation %s: %w", p.name, err)
		}
		texts["presentation "+p.name] = format.QRText(format.KindPresentation, s)
	}
	for _, c := range []struct {
		name    string
		at, exp time.Time
	}{
		{"future", t0.Add(time.Hour), t0.Add(6 * day)},
		{"valid", t0.Add(-day), t0.Add(6 * day)},
		{"expired", t0.Add(-day), t0.Add(-time.Hour)},
	} {
		s, err := format.SignAnnotatedCopy(a.signer(), format.AnnotatedCopy{
			Credential: env, Relying: deptB, Purpose: "办理食品经营许可申请", IssuedAt: c.at.Unix(), Expires: c.exp.Unix(),
			Nonce: []byte("vectors!"),
		})
		if err != nil {
			return fmt.Errorf("annotated copy %s: %w", c.name, err)
		}
		texts["annotated "+c.name] = format.QRText(format.KindAnnotatedCopy, s)
	}
	text := func(s format.Signed) string { return format.QRText(format.KindCredential, s) }
	oversized := validText + strings.Repeat("0", format.MaxQRText+3-len(validText))
	badChar := validText[:10] + "a" + validText[11:]
	overflow := validText[:7] + "GGW" + validText[10:]

	for _, v := range []vectorSpec{
		{"credential_valid", "PASSED", t0, "a business licence (营业执照) of an enterprise, no end date (长期)", validText, nil},
		{"credential_valid_driving", "PASSED", t0, "a driving licence; the holder's citizen ID number is masked", text(creds["driving"]), nil},
		{"presentation_valid", "PASSED", t0, "a dynamic presentation QR, 20 s into its 60 s", texts["presentation valid"], nil},
		{"annotated_valid", "PASSED", t0, "an annotated copy (加注件) shown to the department it names", texts["annotated valid"], []func(*vectors.Vector){department(deptB)}},
		{"key_retired_signed_before", "PASSED", t0, "signed by a key 10 days before it was retired\n(a retired key's claimed time is accepted for credentials only; see docs/FORMAT.md §10)", text(creds["before retire"]), nil},
		{"key_compromised_signed_before", "FAILED KEY_COMPROMISED", t0, "claims to be signed 10 days before its key was marked compromised:\na signer's own time proves nothing, so it fails (docs/FORMAT.md §10)", text(creds["before compromise"]), nil},
		{"presentation_key_retired", "FAILED KEY_RETIRED", t0, "a fresh presentation of a credential signed before its key was retired,\nsigned by that retired key: a retired key signs nothing new", texts["presentation retired"], nil},
		{"credential_future_dated", "FAILED FUTURE_DATED", t0, "a credential whose issued-at is an hour ahead of the verifier's clock", text(creds["future dated"]), nil},
		{"presentation_too_long", "FAILED LIFETIME_TOO_LONG", t0, "a presentation QR valid for a day, more than the 5 minutes an issuer may give", texts["presentation too long"], nil},
		{"annotated_future_dated", "FAILED FUTURE_DATED", t0, "an annotated copy issued an hour ahead of the verifier's clock", texts["annotated future"], []func(*vectors.Vector){department(deptB)}},

		{"signature_flipped", "FAILED SIG_CRYPTO_FAILURE", t0, "the last byte of the signature flipped", qr(flip(env, len(env)-1)), nil},
		{"payload_flipped", "FAILED SIG_CRYPTO_FAILURE", t0, "one byte of the payload flipped: serial 00000001 became 00000000", qr(payloadFlipped), nil},
		{"unknown_key", "FAILED UNKNOWN_KEY", t0, "names a trusted department but is signed by a key not in the trust list", text(creds["unknown key"]), nil},
		{"unknown_issuer", "FAILED UNKNOWN_ISSUER", t0, "issued by a department that is not in the trust list", text(creds["unknown issuer"]), nil},
		{"type_not_authorised", "FAILED TYPE_NOT_AUTHORISED", t0, "a driving licence issued by a department that may not issue driving licences", text(creds["not authorised"]), nil},
		{"key_compromised", "FAILED KEY_COMPROMISED", t0, "signed 5 days after the signing key was marked compromised", text(creds["after compromise"]), nil},
		{"key_retired", "FAILED KEY_RETIRED", t0, "signed 5 days after the signing key was retired", text(creds["after retire"]), nil},
		{"expired", "FAILED EXPIRED", t0, "a food business permit valid through 2025-12-31", text(creds["expired"]), nil},
		{"not_yet_valid", "FAILED NOT_YET_VALID", t0, "a food business permit valid from 2026-07-01", text(creds["future"]), nil},
		{"revoked", "FAILED REVOKED", t0, "status list entry 100 is 1 (revoked)", text(creds["revoked"]), nil},
		{"suspended", "FAILED SUSPENDED", t0, "status list entry 101 is 2 (suspended)", text(creds["suspended"]), nil},
		{"presentation_expired", "FAILED PRESENTATION_EXPIRED", t0, "a presentation QR that expired 9 minutes ago: a screenshot", texts["presentation expired"], nil},
		{"presentation_not_yet_valid", "FAILED PRESENTATION_NOT_YET_VALID", t0, "a presentation QR valid from 5 minutes ahead", texts["presentation future"], nil},
		{"annotated_wrong_department", "FAILED WRONG_RELYING_DEPARTMENT", t0, "an annotated copy for department " + deptB + " shown to " + deptA, texts["annotated valid"], []func(*vectors.Vector){department(deptA)}},
		{"annotated_expired", "FAILED ANNOTATION_EXPIRED", t0, "an annotated copy that expired an hour ago", texts["annotated expired"], []func(*vectors.Vector){department(deptB)}},
		{"base45_invalid", "FAILED ENCODING_FAILURE", t0, "a lower-case letter, outside the Base45 alphabet", badChar, nil},
		{"base45_overflow", "FAILED ENCODING_FAILURE", t0, "a Base45 group GGW, which encodes 65536: more than two bytes", overflow, nil},
		{"truncated", "FAILED FORMAT_FAILURE", t0, "the envelope without its last two bytes (of the signature)", qr(env[:len(env)-2]), nil},
		{"trailing_bytes", "FAILED TRAILING_DATA", t0, "a zero byte after the envelope", qr(append(bytes.Clone(env), 0)), nil},
		{"noncanonical_envelope", "FAILED NON_CANONICAL", t0, "the signature's length written as 59 00 40 instead of 58 40", qr(nonCanonEnv), nil},
		{"noncanonical_payload", "FAILED NON_CANONICAL", t0, "a correctly signed payload with the version written as 18 01 instead of 01", text(nonCanonPayload), nil},
		{"oversized", "FAILED INPUT_TOO_LARGE", t0, fmt.Sprintf("%d characters, more than the %d any QR code holds", len(oversized), format.MaxQRText), oversized, nil},
		{"wrong_version", "FAILED UNSUPPORTED_FORMAT", t0, "prefix LC9: (a format version we do not know)", "LC9:" + strings.TrimPrefix(validText, format.PrefixCredential), nil},
		{"wrong_prefix", "FAILED UNSUPPORTED_FORMAT", t0, "a URL, not an elicence QR text", "HTTPS://EXAMPLE.GOV.CN/L/123", nil},

		{"status_unknown_value", "INDETERMINATE STATUS_UNKNOWN", t0, "status list entry 102 holds 3, a value with no meaning", text(creds["unknown status"]), nil},
		{"status_stale", "INDETERMINATE TRY_LATER", t0.Add(2 * day), "the status list is 49 hours old, more than its own 1 hour time-to-live plus the 5 minutes' grace", validText, nil},
		{"status_missing", "INDETERMINATE TRY_LATER", t0, "the credential names status list 9, which the verifier does not have", text(creds["missing list"]), nil},
		{"trust_stale", "INDETERMINATE TRY_LATER", t0.Add(31 * day), "the trust list's next update was due a day ago", validText, nil},
	} {
		if err := g.vector(v.name, v.expect, v.now, v.comment, v.text, v.opts...); err != nil {
			return err
		}
	}
	if err := g.specVectors(valid); err != nil {
		return err
	}
	return g.v2Vectors(valid, creds["before retire"])
}

func signRaw(k *vectorKey, payload []byte) ([]byte, error) {
	return keys.Sign(k.signer(), payload)
}
