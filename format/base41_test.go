package format

import (
	"os"
	"strings"
	"testing"
)

// The Base41 examples of docs/FORMAT.md §4.1, worked by hand there.
func TestBase41Examples(t *testing.T) {
	for _, c := range []struct {
		in  []byte
		out string
	}{
		{[]byte("AB"), "J-9"},
		{[]byte{0x82, 0x58}, "ZYJ"},
		{[]byte{0xff, 0xff}, "H:-"},
		{[]byte{0x00}, "00"},
		{[]byte{0xff}, "96"},
		{nil, ""},
	} {
		if got := EncodeBase41(c.in); got != c.out {
			t.Errorf("EncodeBase41(% x) = %q, want %q", c.in, got, c.out)
		}
		got, err := DecodeBase41(c.out)
		if err != nil || string(got) != string(c.in) {
			t.Errorf("DecodeBase41(%q) = % x, %v, want % x", c.out, got, err, c.in)
		}
	}
	// Strict: outside the alphabet, a dangling character, a group too big.
	for _, bad := range []string{"I:-", "A6", "A", "ABCD", "ab", "J-9/", "J 9", "J%9", "J+9", "::::"} {
		if b, err := DecodeBase41(bad); err == nil {
			t.Errorf("DecodeBase41(%q) = % x, want error", bad, b)
		}
	}
}

// Every Base41 text is made only of characters a URL path keeps as they
// are (no space, '%', '+', '/', '?', '#') and that QR alphanumeric mode
// holds.
func TestBase41Alphabet(t *testing.T) {
	if len(base41Alphabet) != 41 {
		t.Fatalf("%d characters", len(base41Alphabet))
	}
	for _, c := range base41Alphabet {
		if !strings.ContainsRune(base45Alphabet, c) || strings.ContainsRune(" %+/?#", c) {
			t.Errorf("%q does not belong in the alphabet", c)
		}
	}
	all := make([]byte, 512)
	for i := range all {
		all[i] = byte(i * 7)
	}
	if b, err := DecodeBase41(EncodeBase41(all)); err != nil || string(b) != string(all) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestQRURL(t *testing.T) {
	s := Signed{Payload: []byte{0xa1, 0x00, 0x01}, Signature: make([]byte, 64)}
	u, err := QRURL("https://yzm.zwfw.fujian.gov.cn/", KindCredential, s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "HTTPS://YZM.ZWFW.FUJIAN.GOV.CN/V/" + QRText2(KindCredential, s); u != want {
		t.Fatalf("QRURL = %q, want %q", u, want)
	}
	for _, text := range []string{u, strings.ToLower(u[:30]) + u[30:], "http://127.0.0.1:8080/X/Y/" + QRText2(KindCredential, s)} {
		q, err := ParseQR(text)
		if err != nil || q.Version != 2 || q.Kind != KindCredential || string(q.Envelope) != string(s.Encode()) || q.Host == "" {
			t.Errorf("ParseQR(%q) = %+v, %v", text, q, err)
		}
	}
	if u, err := QRURL("https://verify.example/elicence", KindCredential, s); err == nil {
		t.Errorf("lower-case path accepted: %q", u)
	}
	if u, err := QRURL("https://verify.example/ELICENCE", KindCredential, s); err != nil || !strings.HasPrefix(u, "HTTPS://VERIFY.EXAMPLE/ELICENCE/V/LC2:") {
		t.Errorf("upper-case path: %q, %v", u, err)
	}
	for _, bad := range []string{"ftp://x", "https://", "https://a@b", "https://x?y=1", "x"} {
		if _, err := URLBase(bad); err == nil {
			t.Errorf("URLBase(%q) accepted", bad)
		}
	}
	for _, bad := range []string{
		u + "?A=1", u + "#X", strings.Replace(u, "/V/", "/V%2F", 1), "HTTPS://HOST", "HTTPS:///LC2:00",
		"HTTPS://HOST/V/" + QRText(KindCredential, s), "HTTPS://HOST/V/LC2:", "HTTPS://HOST/V/lc2:00",
	} {
		if _, err := ParseQR(bad); err == nil {
			t.Errorf("ParseQR(%q) accepted", bad)
		}
	}
}

// TestBase41Documented: docs/FORMAT.md §4.1 shows the alphabet the code uses.
func TestBase41Documented(t *testing.T) {
	b, err := os.ReadFile("../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "### 4.1 Base41")
	if !ok {
		t.Fatal("FORMAT.md has no §4.1")
	}
	_, block, _ := strings.Cut(sec, "```\n")
	block, _, _ = strings.Cut(block, "\n```")
	if block != base41Alphabet {
		t.Errorf("§4.1 shows the alphabet %q, the code uses %q", block, base41Alphabet)
	}
}
