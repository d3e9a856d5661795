package issuer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// decodeRowJSON is the reference: the row as encoding/json reads it, and
// whether it reads without error (one value, no unknown fields).
func decodeRowJSON(line []byte) (Request, bool) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return req, false
	}
	return req, true
}

var fastRowCases = []struct {
	line string
	fast bool // decodeRowFast takes it
}{
	{`{"type": "11110000MB00000048001", "holder_name": "李四", "holder_id": "350102199003071234", "valid_from": "2024-01-15", "fields": {"cc": "C1", "fi": "2012-01-15"}}`, true},
	{`{"type":"T","holder_name":"A","holder_id":"1","valid_from":"2024-01-01","valid_until":"长期"}`, true},
	{"{\t\"type\" :\r\"T\" , \"fields\" : { } }  ", true},
	{`{}`, true},
	{`{"fields":{"a":"1"},"fields":{"b":"2","a":"3"}}`, true},
	{`{"type":"A","type":"B"}`, true},
	{`{"fields":{"":""}}`, true},
	{`{"holder_name":"\u674e"}`, false},
	{`{"holder_name":"a\"b"}`, false},
	{`{"Type":"T"}`, false},
	{`{"TYPE":"T"}`, false},
	{`{"type":"T","x":"1"}`, false},
	{`{"type":1}`, false},
	{`{"type":null}`, false},
	{`{"fields":null}`, false},
	{`{"fields":{"a":1}}`, false},
	{`{"fields":{"a":"1",}}`, false},
	{`{"type":"T",}`, false},
	{`{"type":"T"} {"type":"U"}`, false},
	{`{"type":"T"}x`, false},
	{`{"type":"T"`, false},
	{`{"type":"T`, false},
	{`{"type" "T"}`, false},
	{`null`, false},
	{`[]`, false},
	{`"x"`, false},
	{"{\"holder_name\":\"a\x01b\"}", false},
	{"{\"holder_name\":\"a\xffb\"}", false},
	{"{\"holder_name\":\"\xe6\x9d\"}", false},
	{"\v{}", false},
}

// TestDecodeRowFastMatchesJSON holds the reflection-free row decoder to
// encoding/json: the rows it takes decode to the same request, and the
// rows it declines (escapes, other spellings, other types, malformed or
// trailing input) are left to encoding/json, which words their errors.
func TestDecodeRowFastMatchesJSON(t *testing.T) {
	for _, c := range fastRowCases {
		var got Request
		fast := decodeRowFast([]byte(c.line), &got)
		if fast != c.fast {
			t.Errorf("%q: fast path %v, want %v", c.line, fast, c.fast)
		}
		if !fast {
			continue
		}
		want, ok := decodeRowJSON([]byte(c.line))
		if !ok {
			t.Errorf("%q: fast path took a row encoding/json refuses", c.line)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: fast path %#v, encoding/json %#v", c.line, got, want)
		}
	}
}

// FuzzDecodeRowFast: whatever decodeRowFast takes, encoding/json takes
// too and decodes to the same request.
func FuzzDecodeRowFast(f *testing.F) {
	for _, c := range fastRowCases {
		f.Add([]byte(c.line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var got Request
		if !decodeRowFast(line, &got) {
			return
		}
		want, ok := decodeRowJSON(line)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast path %#v, encoding/json %#v (ok %v)", line, got, want, ok)
		}
	})
}
