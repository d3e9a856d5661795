package issuer_test

import (
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/keys"
)

// BenchmarkIssue is the cost of issuing one licence once the request is
// validated and its serial and status slot are known: build the record and
// credential, SM2-sign, encode the envelope and the QR text.
func BenchmarkIssue(b *testing.B) {
	k, err := keys.Generate(nil)
	if err != nil {
		b.Fatal(err)
	}
	id, _ := keys.IDOf(&k.PublicKey)
	var typ issuer.LicenceType
	for _, t := range issuer.DemoTypes() {
		if t.Code == issuer.TypeBusinessLicence {
			typ = t
		}
	}
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	req := issuer.Request{
		Type: issuer.TypeBusinessLicence, HolderName: "福州示例科技有限公司", HolderID: "91350100M000100Y43",
		ValidFrom: "2024-05-20", ValidUntil: "长期",
		Fields: map[string]string{"lr": "张三", "ra": "福建省福州市鼓楼区五四路158号"},
	}
	v, err := req.Validate(&typ, now)
	if err != nil {
		b.Fatal(err)
	}
	d := &issuer.Draft{
		Validated: v, Type: &typ, IssuerCode: issuer.DemoDepartmentCode, Serial: "20260601000001", Version: 1,
		Status: format.StatusRef{List: "1", Index: 4242}, KeyID: id[:], IssuedAt: now,
	}
	b.ReportAllocs()
	for b.Loop() {
		_, cred, err := d.Build()
		if err != nil {
			b.Fatal(err)
		}
		s, err := format.SignCredential(k, *cred)
		if err != nil {
			b.Fatal(err)
		}
		if text := format.QRText(format.KindCredential, s); len(text) < 100 {
			b.Fatalf("qr text %q", text)
		}
	}
}
