package format

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"elicence/internal/vectors"
)

// libraryCBOR is the CBOR library's canonical encoding of v, the reference
// the direct writers of cborenc.go are held to.
func libraryCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkDirect fails t unless the direct writers give the library's bytes
// for r, c and the compact form of c.
func checkDirect(t testing.TB, r *Record, c *Credential, cc *CompactCredential) {
	t.Helper()
	if got, want := r.Encode(), libraryCBOR(t, r); !bytes.Equal(got, want) {
		t.Fatalf("record %+v:\n direct  %x\n library %x", r, got, want)
	}
	got, err := c.encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := libraryCBOR(t, c); !bytes.Equal(got, want) {
		t.Fatalf("credential %+v:\n direct  %x\n library %x", c, got, want)
	}
	if got, err = cc.encode(); err != nil {
		t.Fatal(err)
	}
	if want := libraryCBOR(t, cc); !bytes.Equal(got, want) {
		t.Fatalf("compact credential %+v:\n direct  %x\n library %x", cc, got, want)
	}
}

// TestPayloadEncodersMatchVectors: the payload of every credential vector
// (both layouts, and the credential inside presentations and annotated
// copies) and the vector record decode and encode again, by the direct
// writers, to exactly their bytes.
func TestPayloadEncodersMatchVectors(t *testing.T) {
	vs, err := vectors.Load("../testdata/vectors")
	if err != nil {
		t.Fatal(err)
	}
	var payloads [][]byte
	for _, v := range vs {
		_, raw, err := ParseQRText(v.Text)
		if err != nil {
			continue
		}
		s, err := ParseSigned(v.Name, raw)
		if err != nil {
			continue
		}
		payloads = append(payloads, s.Payload)
		var p Presentation
		if decMode.Unmarshal(s.Payload, &p) == nil && p.Credential != nil {
			if inner, err := ParseSigned(v.Name, p.Credential); err == nil {
				payloads = append(payloads, inner.Payload)
			}
		}
	}
	v1, v2 := 0, 0
	for _, p := range payloads {
		var got []byte
		if c, err := decodeCredential(p); err == nil {
			got, err = c.encode()
			if err != nil {
				t.Fatal(err)
			}
			v1++
		} else {
			var cc CompactCredential
			if decodePayload("credential", p, KindCompactCredential, &cc) != nil {
				continue
			}
			if got, err = cc.encode(); err != nil {
				t.Fatal(err)
			}
			v2++
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("payload %x\nencodes again as %x", p, got)
		}
	}
	if v1 < 5 || v2 < 5 {
		t.Fatalf("only %d version-1 and %d compact credential payloads in the vectors", v1, v2)
	}
	raw, err := os.ReadFile(filepath.Join("../testdata/vectors", "credential_valid.record.cbor"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRecord(raw) // re-encodes by Encode and compares
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.encode(); !bytes.Equal(got, raw) {
		t.Fatalf("vector record encodes again as %x", got)
	}
}

// TestPayloadEncodersMatchCBOR holds the direct writers to the library at
// every head-length boundary of integers, strings and maps, for negative
// times, map keys whose order by length and by bytes differ, empty and nil
// maps and byte strings, and invalid UTF-8 (which both write as it is).
func TestPayloadEncodersMatchCBOR(t *testing.T) {
	ints := []int64{0, 1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<63 - 1, -1, -24, -25, -256, -257, -65537, -1 << 32, -1<<32 - 1, -1 << 63}
	lens := []int{0, 1, 23, 24, 255, 256, 300, 65535, 65536}
	fieldSets := []map[string]string{
		nil, {}, {"a": ""},
		{"b": "1", "a": "2", "aa": "3", "z": "4", "ab": "5", "B": "6", strings.Repeat("k", 24): "7", strings.Repeat("j", 23): "8"},
		{"地址": "北京市东城区", "lr": "张三", "\xff": "\xfe"},
	}
	u16 := []uint16{0, 1, 23, 24, 255, 256, 999, 65535}
	u32 := []uint32{0, 1, 23, 24, 65535, 65536, 1<<32 - 1}
	for i := 0; i < len(ints)*len(lens); i++ {
		n, x := lens[i%len(lens)], ints[i%len(ints)]
		s := strings.Repeat("证", n/3) + strings.Repeat("x", n%3)
		r := &Record{
			Salt: bytes.Repeat([]byte{1}, n%40), TypeCode: s, IssuerCode: "1135", Serial: s[:min(len(s), 30)], Version: u16[i%len(u16)],
			HolderName: s, HolderKind: uint8(i), HolderCode: "\xff\x00", ValidFrom: x, ValidUntil: ints[(i+3)%len(ints)], Fields: fieldSets[i%len(fieldSets)],
		}
		c := &Credential{
			Kind: Kind(i % 30), TypeCode: s, IssuerCode: "1135", Serial: "x", Version: u16[(i+1)%len(u16)], HolderName: "\x80", HolderID: s,
			ValidFrom: ints[(i+5)%len(ints)], ValidUntil: x, IssuedAt: ints[(i+7)%len(ints)],
			Status: StatusRef{List: s, Index: u32[i%len(u32)]}, KeyID: make([]byte, n%30), RecordDigest: bytes.Repeat([]byte{9}, n),
			Fields: fieldSets[(i+1)%len(fieldSets)],
		}
		cc := &CompactCredential{
			Kind: c.Kind, TypeNumber: u32[(i+1)%len(u32)], Serial: s, Version: c.Version, HolderName: s, HolderID: "",
			ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, IssuedAt: c.IssuedAt,
			Status: CompactStatusRef{List: u32[(i+2)%len(u32)], Index: u32[(i+3)%len(u32)]}, ShortKeyID: c.KeyID, RecordDigest: c.RecordDigest, Fields: c.Fields,
		}
		checkDirect(t, r, c, cc)
	}
	// What the direct writers hand to the library: nil byte strings (null).
	checkDirect(t, &Record{}, &Credential{}, &CompactCredential{})
	checkDirect(t, &Record{Salt: []byte{}}, &Credential{KeyID: []byte{}}, &CompactCredential{RecordDigest: []byte{}})
}

// FuzzPayloadEncoders: for arbitrary contents, the direct writers and the
// library write the same bytes.
func FuzzPayloadEncoders(f *testing.F) {
	f.Add(int64(1700000000), int64(0), uint32(7), uint16(1), "张三", "lr", "value", []byte{1, 2, 3})
	f.Add(int64(-1), int64(1<<40), uint32(1<<31), uint16(999), "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, from, until int64, n uint32, ver uint16, s, k, v string, raw []byte) {
		var fields map[string]string
		if k != "" || v != "" {
			fields = map[string]string{k: v, v: k, k + v: s}
		}
		r := &Record{Salt: raw, TypeCode: s, IssuerCode: k, Serial: v, Version: ver, HolderName: s, HolderKind: uint8(n), HolderCode: v, ValidFrom: from, ValidUntil: until, Fields: fields}
		c := &Credential{Kind: Kind(n), TypeCode: k, IssuerCode: v, Serial: s, Version: ver, HolderName: v, HolderID: s, ValidFrom: until, ValidUntil: from,
			IssuedAt: from ^ until, Status: StatusRef{List: s, Index: n}, KeyID: raw, RecordDigest: []byte(s), Fields: fields}
		cc := &CompactCredential{Kind: Kind(ver), TypeNumber: n, Serial: k, Version: ver, HolderName: s, HolderID: v, ValidFrom: from, ValidUntil: until,
			IssuedAt: until, Status: CompactStatusRef{List: n >> 3, Index: n}, ShortKeyID: []byte(k), RecordDigest: raw, Fields: fields}
		checkDirect(t, r, c, cc)
	})
}

// The direct writers size their buffer exactly enough: never a second
// allocation, whatever the lengths.
func TestPayloadEncodersOneAllocation(t *testing.T) {
	long := strings.Repeat("长", 100)
	r := &Record{Salt: make([]byte, 16), TypeCode: long, IssuerCode: "x", Serial: long, Version: 65535, HolderName: long, HolderKind: 255, HolderCode: long,
		ValidFrom: -1 << 63, ValidUntil: 1<<63 - 1, Fields: map[string]string{long: long, "a": "", strings.Repeat("k", 300): long}}
	c := &Credential{Kind: 255, TypeCode: long, IssuerCode: long, Serial: long, Version: 65535, HolderName: long, HolderID: long,
		ValidFrom: -1 << 63, ValidUntil: -1 << 63, IssuedAt: -1 << 63, Status: StatusRef{List: long, Index: 1<<32 - 1},
		KeyID: make([]byte, 300), RecordDigest: make([]byte, 70000), Fields: r.Fields}
	cc := &CompactCredential{Kind: 255, TypeNumber: 1<<32 - 1, Serial: long, Version: 65535, HolderName: long, HolderID: long,
		ValidFrom: -1 << 63, ValidUntil: -1 << 63, IssuedAt: -1 << 63, Status: CompactStatusRef{List: 1<<32 - 1, Index: 1<<32 - 1},
		ShortKeyID: make([]byte, 300), RecordDigest: make([]byte, 70000), Fields: r.Fields}
	checkDirect(t, r, c, cc)
	for name, enc := range map[string]func() []byte{
		"record":     func() []byte { b, _ := r.encode(); return b },
		"credential": func() []byte { b, _ := c.encode(); return b },
		"compact":    func() []byte { b, _ := cc.encode(); return b },
	} {
		if n := testing.AllocsPerRun(10, func() { enc() }); n != 1 {
			t.Errorf("%s: %v allocations, want 1", name, n)
		}
		if b := enc(); cap(b)-len(b) > 64 {
			t.Errorf("%s: %d bytes allocated for %d", name, cap(b), len(b))
		}
	}
}
