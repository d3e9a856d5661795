package format

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"elicence/keys"

	"github.com/emmansun/gmsm/sm2"
)

// RFC 9285 §4.3 and §4.4 examples.
func TestBase45RFC9285(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	} {
		if got := EncodeBase45([]byte(c.in)); got != c.out {
			t.Errorf("EncodeBase45(%q) = %q, want %q", c.in, got, c.out)
		}
		got, err := DecodeBase45(c.out)
		if err != nil || string(got) != c.in {
			t.Errorf("DecodeBase45(%q) = %q, %v, want %q", c.out, got, err, c.in)
		}
	}
	// RFC 9285 §6: "GGW" decodes to 65535+1, which is not two bytes.
	for _, bad := range []string{"GGW", "A", "ABCD", "ab", "BB8~", ":::", "ZZ"} {
		if b, err := DecodeBase45(bad); err == nil {
			t.Errorf("DecodeBase45(%q) = %x, want error", bad, b)
		}
	}
}

// The examples of draft-ietf-oauth-status-list (§4.1 one-bit, two-bit):
// our bit layout and ZLIB handling decode them to the draft's statuses.
func TestStatusListDraftExamples(t *testing.T) {
	for _, c := range []struct {
		bits int
		lst  string
		want []Status
	}{
		{1, "eNrbuRgAAhcBXQ", []Status{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}},
		{2, "eNo76fITAAPfAgc", []Status{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}},
	} {
		lst, err := base64.RawURLEncoding.DecodeString(c.lst)
		if err != nil {
			t.Fatal(err)
		}
		s, err := DecompressStatuses(lst, len(c.want), c.bits)
		if err != nil {
			t.Fatalf("%d-bit example: %v", c.bits, err)
		}
		for i, w := range c.want {
			if got := s.Get(i); got != w {
				t.Errorf("%d-bit example: status[%d] = %d, want %d", c.bits, i, got, w)
			}
		}
		// And we build the same uncompressed bytes.
		ours := NewStatuses(len(c.want), c.bits)
		for i, w := range c.want {
			ours.Set(i, w)
		}
		if !bytes.Equal(ours.Bytes(), s.Bytes()) {
			t.Errorf("%d-bit example: we encode %x, draft has %x", c.bits, ours.Bytes(), s.Bytes())
		}
	}
}

func TestStatusesSetGet(t *testing.T) {
	s := NewStatuses(MinStatusListSize, StatusBits)
	s.Set(0, StatusRevoked)
	s.Set(1, StatusSuspended)
	s.Set(131071, StatusSuspended)
	s.Set(1, StatusValid)
	s.Set(5, StatusRevoked)
	back, err := DecompressStatuses(s.Compress(), s.Len(), StatusBits)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]Status{0: StatusRevoked, 1: StatusValid, 2: StatusValid, 5: StatusRevoked, 131071: StatusSuspended} {
		if got := back.Get(i); got != want {
			t.Errorf("status[%d] = %v, want %v", i, got, want)
		}
	}
	if _, err := DecompressStatuses(s.Compress(), s.Len()-4, StatusBits); err == nil {
		t.Error("list inflating to more bytes than its size accepted")
	}
}

func testKey(t testing.TB) *keysPair {
	t.Helper()
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := keys.IDOf(&k.PublicKey)
	return &keysPair{k, id}
}

type keysPair struct {
	key *sm2.PrivateKey
	id  keys.ID
}

func sampleCredential(id keys.ID) Credential {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	return Credential{
		TypeCode: "11100000000013127D001", IssuerCode: "11100000000013127D", Serial: "00000001", Version: 1,
		HolderName: "福州示例科技有限公司", HolderID: "91350100M000100Y43",
		ValidFrom: now.Unix(), IssuedAt: now.Unix(),
		Status: StatusRef{List: "1", Index: 4242}, KeyID: id[:], RecordDigest: bytes.Repeat([]byte{7}, 16),
		Fields: map[string]string{"lr": "林晓明"},
	}
}

func TestCredentialRoundTrip(t *testing.T) {
	p := testKey(t)
	s, err := SignCredential(p.key, sampleCredential(p.id))
	if err != nil {
		t.Fatal(err)
	}
	text := QRText(KindCredential, s)
	if !strings.HasPrefix(text, PrefixCredential) {
		t.Fatalf("qr text %q", text)
	}
	kind, b, err := ParseQRText(text)
	if err != nil || kind != KindCredential {
		t.Fatalf("ParseQRText: %v %v", kind, err)
	}
	s2, c, err := ParseCredential(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Verify(&p.key.PublicKey); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s2.Encode(), b) {
		t.Fatal("re-encoding differs")
	}
	if c.ID() != "1.2.156.3005.2.11100000000013127D001.11100000000013127D.00000001.001."+c.ID()[len(c.ID())-1:] {
		t.Fatalf("id %s", c.ID())
	}
	if c.Fields["lr"] != "林晓明" {
		t.Fatalf("fields %v", c.Fields)
	}
	t.Logf("reference business licence: %d payload bytes, qr text %d characters", len(s.Payload), len(text))
}

func TestCredentialRejects(t *testing.T) {
	p := testKey(t)
	s, _ := SignCredential(p.key, sampleCredential(p.id))
	good := s.Encode()

	if _, _, err := ParseCredential(append(bytes.Clone(good), 0)); ProblemOf(err) != ProblemTrailing {
		t.Errorf("trailing byte: %v", err)
	}
	if _, _, err := ParseCredential(good[:len(good)-1]); ProblemOf(err) != ProblemFormat {
		t.Errorf("truncated: %v", err)
	}
	// A non-canonical length: re-encode the payload byte string with a
	// two-byte length header where one byte would do.
	nc := append([]byte{0x82, 0x59, byte(len(s.Payload) >> 8), byte(len(s.Payload))}, s.Payload...)
	nc = append(nc, 0x58, 64)
	nc = append(nc, s.Signature...)
	if len(s.Payload) < 256 {
		if _, _, err := ParseCredential(nc); ProblemOf(err) != ProblemNonCanonical {
			t.Errorf("non-canonical envelope: %v", err)
		}
	}
	// A signed trust list is not a credential.
	tl, err := SignTrustList(p.key, TrustList{IssuedAt: 1, NextUpdate: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ParseCredential(tl.Encode()); ProblemOf(err) != ProblemKind || !strings.Contains(err.Error(), "payload is a trust list, want a credential") {
		t.Errorf("trust list as credential: %v", err)
	}
	if _, _, err := ParseAnnotatedCopy(tl.Encode()); ProblemOf(err) != ProblemKind || !strings.Contains(err.Error(), "want an annotated copy") {
		t.Errorf("trust list as annotated copy: %v", err)
	}
	if _, _, err := ParseQRText("XX1:ABC"); ProblemOf(err) != ProblemPrefix {
		t.Errorf("wrong prefix: %v", err)
	}
	if _, _, err := ParseQRText("LC9:ABC"); ProblemOf(err) != ProblemPrefix {
		t.Errorf("wrong version: %v", err)
	}
	if _, _, err := ParseQRText("LC1:abc"); ProblemOf(err) != ProblemBase45 {
		t.Errorf("lower case: %v", err)
	}
	if _, _, err := ParseQRText("LC1:" + strings.Repeat("0", MaxQRText)); ProblemOf(err) != ProblemTooLarge {
		t.Errorf("oversized: %v", err)
	}
}

func TestSignatureBindsPayload(t *testing.T) {
	p := testKey(t)
	s, _ := SignCredential(p.key, sampleCredential(p.id))
	bad := s
	bad.Payload = bytes.Clone(s.Payload)
	bad.Payload[len(bad.Payload)-1] ^= 1
	if bad.Verify(&p.key.PublicKey) == nil {
		t.Fatal("flipped payload verifies")
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	ps, err := SignPresentation(p.key, Presentation{Credential: s.Encode(), NotBefore: 100, Expires: 160, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	if _, pr, err := ParsePresentation(ps.Encode()); err != nil || pr.Expires != 160 {
		t.Fatalf("presentation: %v", err)
	}
	as, err := SignAnnotatedCopy(p.key, AnnotatedCopy{Credential: s.Encode(), Relying: "DEPT2", Purpose: "办理开户", IssuedAt: 100, Expires: 200, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	if _, a, err := ParseAnnotatedCopy(as.Encode()); err != nil || a.Relying != "DEPT2" {
		t.Fatalf("annotated copy: %v", err)
	}
}
