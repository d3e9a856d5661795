package issuer

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestJSONFastMatchesEncodingJSON holds the direct encodings of a request
// and of a licence's fields to encoding/json's bytes: on plain and odd
// strings, with and without optional members, and on random strings; a
// string the fast path declines must be one encoding/json escapes.
func TestJSONFastMatchesEncodingJSON(t *testing.T) {
	odd := []string{"", "a", "某某科技有限公司", "长期", "a\"b", `a\b`, "<x>", "a&b", "\u2028", "\u2029", "\x00", "\x1f", "\x7f", "\xff", "é\xc3", "😀", "\ufffd", "a/b", "tab\t"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		n := r.IntN(8)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		odd = append(odd, string(b))
	}
	check := func(req Request) {
		t.Helper()
		want, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := requestJSON(&req)
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("requestJSON(%q) = %s, encoding/json %s", req, got, want)
		}
		if !bytes.Equal(RequestHash(req), RequestHash(&req)) { // the pointer goes through encoding/json
			t.Fatalf("RequestHash(%q) differs from encoding/json's", req)
		}
		if len(req.Fields) > 0 {
			want, _ := json.Marshal(req.Fields)
			if got := fieldsJSON(req.Fields); !bytes.Equal(got, want) {
				t.Fatalf("fieldsJSON(%q) = %s, encoding/json %s", req.Fields, got, want)
			}
		}
	}
	base := Request{Type: "1.2.156.3005.2.11100000000013127D.001", HolderName: "张三", HolderID: "11010519491231002X", ValidFrom: "2025-03-01"}
	check(base)
	withAll := base
	withAll.ValidUntil = "长期"
	withAll.Fields = map[string]string{"准驾车型": "C1", "a": "1", "B": "2", "ab": "", "法定代表人": "李四"}
	check(withAll)
	empty := base
	empty.Fields = map[string]string{}
	check(empty)
	check(Request{})
	for i, s := range odd {
		for f := range 7 {
			req := withAll
			req.Fields = map[string]string{"k": "v", "z": "w"}
			switch f {
			case 0:
				req.Type = s
			case 1:
				req.HolderName = s
			case 2:
				req.HolderID = s
			case 3:
				req.ValidFrom = s
			case 4:
				req.ValidUntil = s
			case 5:
				req.Fields[s] = odd[(i+1)%len(odd)]
			case 6:
				req.Fields["k"] = s
			}
			check(req)
		}
		q, _ := json.Marshal(s)
		if plainJSONString(s) && !bytes.Equal(q, []byte(`"`+s+`"`)) {
			t.Fatalf("%q called plain, encoding/json writes %s", s, q)
		}
	}
}
