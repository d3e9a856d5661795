package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/fxamacker/cbor/v2"
)

// TestIndependentVersion2 reads the version-2 vectors as an implementer
// with docs/FORMAT.md alone would: its own Base41 decoder (§4.1), the QR
// URL rule (§4.2), a generic CBOR decoder, the compact credential's
// resolution through the trust list (§2, §5.1, §10), the licence
// identifier and its check character (§6), and SM2 with SM3 from gmsm
// directly, none of package format, verifier or keys. It finds the
// identifier of §13 and a signature that verifies, for the plain text and
// the QR URL alike.
func TestIndependentVersion2(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*-.:" // §4.1
	base41 := func(s string) []byte {
		var out []byte
		for i := 0; i < len(s); i += 3 {
			n, w := 0, 1
			for j := i; j < i+3 && j < len(s); j++ {
				n += strings.IndexByte(alphabet, s[j]) * w
				w *= 41
			}
			if len(s)-i >= 3 {
				out = append(out, byte(n>>8), byte(n))
			} else {
				out = append(out, byte(n))
			}
		}
		return out
	}
	// The trust list: [payload, signature], payload key 4 departments, 5 types.
	var trust []cbor.RawMessage
	raw, err := os.ReadFile(vectorDir + "/trust-v2.cbor")
	if err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(raw, &trust); err != nil {
		t.Fatal(err)
	}
	var tpayload []byte
	if err := cbor.Unmarshal(trust[0], &tpayload); err != nil {
		t.Fatal(err)
	}
	var tl map[int]any
	if err := cbor.Unmarshal(tpayload, &tl); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"v2_credential_valid", "v2_credential_url"} {
		b, err := os.ReadFile(vectorDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		_, text, _ := strings.Cut(string(b), "\n\n")
		text = strings.TrimSuffix(text, "\n")
		if strings.HasPrefix(text, "HTTP") { // §4.2: the text after the last '/'
			text = text[strings.LastIndexByte(text, '/')+1:]
		}
		body, ok := strings.CutPrefix(text, "LC2:")
		if !ok {
			t.Fatalf("%s: %.10s", name, text)
		}
		var env [][]byte
		if err := cbor.Unmarshal(base41(body), &env); err != nil || len(env) != 2 || len(env[1]) != 64 {
			t.Fatalf("%s: envelope: %v", name, err)
		}
		var c map[int]any
		if err := cbor.Unmarshal(env[0], &c); err != nil {
			t.Fatal(err)
		}
		if c[0] != uint64(6) {
			t.Fatalf("%s: kind %v, want 6", name, c[0])
		}
		// §2: the one key of the list whose ID starts with the short ID.
		short := c[11].([]byte)
		var dept, spki []byte
		n := 0
		for _, d := range tl[4].([]any) {
			dm := d.(map[any]any)
			for _, k := range dm[uint64(3)].([]any) {
				km := k.(map[any]any)
				if bytes.HasPrefix(km[uint64(1)].([]byte), short) {
					n++
					dept, spki = []byte(dm[uint64(1)].(string)), km[uint64(2)].([]byte)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%s: short key id %x names %d keys", name, short, n)
		}
		// §10: the type with the catalogue number.
		typeCode := ""
		for _, ti := range tl[5].([]any) {
			tm := ti.(map[any]any)
			if tm[uint64(5)] == c[1] {
				typeCode = tm[uint64(1)].(string)
			}
		}
		// §6: the identifier and its MOD 37,36 check character.
		version := c[4].(uint64)
		digits := strconv.FormatUint(version, 10)
		digits = strings.Repeat("0", 3-len(digits)) + digits
		p := 36
		for _, ch := range typeCode + string(dept) + c[3].(string) + digits {
			r := (p + strings.IndexRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", ch)) % 36
			if r == 0 {
				r = 36
			}
			p = (2 * r) % 37
		}
		check := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(37-p)%36]
		id := "1.2.156.3005.2." + typeCode + "." + string(dept) + "." + c[3].(string) + "." + digits + "." + string(check)
		if want := "1.2.156.3005.2.11100000MB0000001T001.11350100MB00000012.00000001.001.V"; id != want {
			t.Errorf("%s: licence identifier %s, want §13's %s", name, id, want)
		}
		// §5.1: the list identifier.
		ref := c[10].([]any)
		if list := string(dept) + "-" + strconv.FormatUint(ref[0].(uint64), 10); list != "11350100MB00000012-1" {
			t.Errorf("%s: status list %s", name, list)
		}
		// §2: SM2 with SM3 and the default ID over exactly the payload.
		pub, err := smx509.ParsePKIXPublicKey(spki)
		if err != nil {
			t.Fatal(err)
		}
		ec := pub.(*ecdsa.PublicKey)
		r, s := new(big.Int).SetBytes(env[1][:32]), new(big.Int).SetBytes(env[1][32:])
		der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		if !sm2.VerifyASN1WithSM2(ec, []byte("1234567812345678"), env[0], der) {
			t.Errorf("%s: the signature does not verify", name)
		}
		sum := sm3.Sum(spki)
		if !bytes.Equal(sum[:4], short) {
			t.Errorf("%s: short key id %x is not SM3(SPKI)[:4] %s", name, short, hex.EncodeToString(sum[:4]))
		}
	}
}
