package identifier

import (
	"strings"
	"testing"
)

func TestRedactCitizenIDs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/v1/licences/350102199003071234", "/v1/licences/3501**********1234"},
		{"/v1/licences/11010519491231002X/qr.png", "/v1/licences/1101**********002X/qr.png"},
		{"/v1/licences/11010519491231002x", "/v1/licences/1101**********002x"},
		{"no licence \"350102199003071235\"", "no licence \"3501**********1235\""}, // bad check char: still masked
		{"/v1/licences/1.2.156.3005.2.11110000MB00000048001.11350100MB00000012.42.1.X", "/v1/licences/1.2.156.3005.2.11110000MB00000048001.11350100MB00000012.42.1.X"},
		{"91350100MA2Y00001H", "91350100MA2Y00001H"},   // a USCC with letters
		{"1234567890123456789", "1234567890123456789"}, // 19 digits: not an ID
		{"", ""},
	} {
		got := RedactCitizenIDs(c.in)
		if got != c.want {
			t.Errorf("RedactCitizenIDs(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "199003071234") {
			t.Errorf("birth date and sequence left in %q", got)
		}
	}
}
