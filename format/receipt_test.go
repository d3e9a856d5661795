package format

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"elicence/qr"
)

func sampleReceipt(id []byte) DocumentReceipt {
	return DocumentReceipt{
		ID:    "7D2A9C04E1B3F658",
		Title: "关于同意福州示例科技有限公司建设项目环境影响报告书的批复意见",
		// 20 characters, all Chinese-width where a number can be.
		Number:     "闽环审〔二〇二六〕第一二三四五六七八九号",
		SignedAt:   time.Date(2026, 3, 14, 2, 30, 0, 0, time.UTC).Unix(),
		SM3:        bytes.Repeat([]byte{0xa5}, DocumentSM3Size),
		Status:     CompactStatusRef{List: 4294967295, Index: 4294967295},
		ShortKeyID: bytes.Clone(id[:ShortKeyIDSize]),
	}
}

// A receipt round-trips through its QR text and QR URL, refuses what
// Validate refuses, and a credential parser refuses it by kind.
func TestDocumentReceipt(t *testing.T) {
	p := testKey(t)
	r := sampleReceipt(p.id[:])
	s, err := SignDocumentReceipt(p.key, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(&p.key.PublicKey); err != nil {
		t.Fatal(err)
	}
	text := QRText2(KindDocumentReceipt, s)
	if !strings.HasPrefix(text, PrefixDocumentReceipt2) {
		t.Fatalf("text %q", text[:8])
	}
	url, err := QRURL("https://yzm.zwfw.fujian.gov.cn", KindDocumentReceipt, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{text, url} {
		q, err := ParseQR(in)
		if err != nil || q.Kind != KindDocumentReceipt || q.Version != 2 {
			t.Fatalf("ParseQR: %+v %v", q, err)
		}
		_, got, err := ParseDocumentReceipt(q.Envelope)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != r.ID || got.Title != r.Title || got.Number != r.Number || got.Status != r.Status ||
			!bytes.Equal(got.SM3, r.SM3) || got.SignedAt != r.SignedAt || got.StatusListID("D") != "D-4294967295" {
			t.Fatalf("got %+v, want %+v", got, r)
		}
	}
	if _, _, err := ParseCredential(s.Encode()); ProblemOf(err) != ProblemKind {
		t.Errorf("ParseCredential of a receipt: %v", err)
	}
	if _, _, err := ParseDocumentReceipt(mustSign(t, p, sampleCredential(p.id)).Encode()); ProblemOf(err) != ProblemKind {
		t.Errorf("ParseDocumentReceipt of a credential: %v", err)
	}
	for name, mod := range map[string]func(*DocumentReceipt){
		"no id":       func(r *DocumentReceipt) { r.ID = "" },
		"id lower":    func(r *DocumentReceipt) { r.ID = strings.ToLower(r.ID) },
		"id long":     func(r *DocumentReceipt) { r.ID += "00" },
		"id not hex":  func(r *DocumentReceipt) { r.ID = "7D2A9C04E1B3F65G" },
		"not gb18030": func(r *DocumentReceipt) { r.Title = "\uFFFD" },
		"no title":    func(r *DocumentReceipt) { r.Title = "" },
		"title long":  func(r *DocumentReceipt) { r.Title = strings.Repeat("批", MaxReceiptTitleRunes+1) },
		"title ctrl":  func(r *DocumentReceipt) { r.Title = "批\n复" },
		"number long": func(r *DocumentReceipt) { r.Number = strings.Repeat("号", MaxReceiptNumberRunes+1) },
		"bad utf8":    func(r *DocumentReceipt) { r.Number = "\xff" },
		"no time":     func(r *DocumentReceipt) { r.SignedAt = 0 },
		"short sm3":   func(r *DocumentReceipt) { r.SM3 = r.SM3[:31] },
		"list 0":      func(r *DocumentReceipt) { r.Status.List = 0 },
		"full key id": func(r *DocumentReceipt) { r.ShortKeyID = p.id[:] },
	} {
		bad := sampleReceipt(p.id[:])
		mod(&bad)
		if _, err := SignDocumentReceipt(p.key, bad); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	// A receipt without a number is fine (the key is left out).
	r2 := sampleReceipt(p.id[:])
	r2.Number = ""
	s2, err := SignDocumentReceipt(p.key, r2)
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := ParseDocumentReceipt(s2.Encode()); err != nil || got.Number != "" {
		t.Fatalf("no number: %v %v", got, err)
	}
}

func mustSign(t *testing.T, p *keysPair, c Credential) Signed {
	t.Helper()
	s, err := SignCredential(p.key, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDocumentReceiptQRBudget: a receipt with a 30-character Chinese title
// and a 20-character number, all of it three-byte characters, the largest
// list number and index, as a QR URL under a 30-character base, fits QR
// version 12 at level M.
func TestDocumentReceiptQRBudget(t *testing.T) {
	p := testKey(t)
	r := sampleReceipt(p.id[:])
	if n, m := len([]rune(r.Title)), len([]rune(r.Number)); n != 30 || m != 20 {
		t.Fatalf("sample title %d, number %d characters", n, m)
	}
	s, err := SignDocumentReceipt(p.key, r)
	if err != nil {
		t.Fatal(err)
	}
	base := "https://yzm.zwfw.fujian.gov.cn"
	if len(base) != 30 {
		t.Fatalf("base is %d characters", len(base))
	}
	url, err := QRURL(base, KindDocumentReceipt, s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := qr.VersionFor(url, qr.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("receipt payload %d bytes, QR URL %d characters, version %d-M", len(s.Payload), len(url), v)
	if v > 12 {
		t.Fatalf("QR URL of %d characters needs version %d-M, want at most 12", len(url), v)
	}
}
