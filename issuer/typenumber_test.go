package issuer_test

import (
	"context"
	"strings"
	"testing"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
)

// A catalogue number is given once: a new type with a number another type
// has is refused, and one with a free number is published in the trust
// list beside the demo types' numbers.
func TestTypeNumbers(t *testing.T) {
	b := issuertest.Backends()[0]
	f := issuertest.New(t, b.Open(t), issuer.Config{})
	ctx := context.Background()
	op := issuer.Operator()
	lt := issuer.DemoTypes()[0]
	lt.Code, lt.Number = "11100000MB0000001T009", 1
	if _, err := f.Service.Admin.CreateLicenceType(ctx, op, lt); err == nil || !strings.Contains(err.Error(), "catalogue number 1") {
		t.Fatalf("a second type numbered 1: %v", err)
	}
	lt.Number = 9
	if _, err := f.Service.Admin.CreateLicenceType(ctx, op, lt); err != nil {
		t.Fatal(err)
	}
	pub, err := f.Service.Publication.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, tl, err := format.ParseTrustList(pub.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ti := tl.TypeNumbered(9); ti == nil || ti.Code != lt.Code {
		t.Errorf("number 9 names %v in the trust list", ti)
	}
	if ti := tl.TypeNumbered(1); ti == nil || ti.Code != issuer.TypeBusinessLicence {
		t.Errorf("number 1 names %v in the trust list, want the business licence", ti)
	}
}
