package verifierapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPlainQRText checks the fast path against the JSON decoder: where it
// answers, it answers what the decoder does; otherwise it declines.
func TestPlainQRText(t *testing.T) {
	type plainCase struct {
		body string
		fast bool
	}
	cases := []plainCase{
		{`{"qr_text":"LC1:ABC"}`, true},
		{" \n{\"qr_text\":\"LC1:A B %*+-./:\"}\r\n", true},
		{`{"qr_text":""}`, true},
		{`{"qr_text":"LC1:\u0041"}`, false},
		{`{"qr_text":"LC1:A\"B"}`, false},
		{`{"qr_text":"LC1:A\\B"}`, false},
		{"{\"qr_text\":\"LC1:\tA\"}", false},
		{`{"qr_text":"证照"}`, false},
		{`{"qr_text":"A","x":"B"}`, false},
		{`{"qr_text":"A"}{"qr_text":"B"}`, false},
		{`{"qr_text": "A"}`, false},
		{`{"qr_text":"`, false},
		{`"}`, false},
	}
	// Each byte the fast path refuses, at each place in and around the
	// eight-byte blocks it checks at once.
	for _, b := range []string{"\"", "\\", "\x00", "\x1f", "\x7f", "\x80", "\xff", "é"} {
		for i := range 17 {
			cases = append(cases, plainCase{`{"qr_text":"` + strings.Repeat("A", i) + b + strings.Repeat("B", 16-i) + `"}`, false})
		}
		cases = append(cases, plainCase{`{"qr_text":"` + strings.Repeat("A~ ", 9) + `"}`, true})
	}
	for _, c := range cases {
		got, ok := plainQRText([]byte(c.body))
		if ok != c.fast {
			t.Errorf("%q: fast path %v, want %v", c.body, ok, c.fast)
			continue
		}
		if ok {
			var req struct {
				QRText string `json:"qr_text"`
			}
			if err := json.Unmarshal([]byte(c.body), &req); err != nil || req.QRText != got {
				t.Errorf("%q: fast path %q, decoder %q (%v)", c.body, got, req.QRText, err)
			}
		}
	}
}
