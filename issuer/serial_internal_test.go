package issuer

import (
	"fmt"
	"testing"
)

// FormatSerial writes what fmt's %0*d writes, for every width of number.
func TestFormatSerialMatchesFmt(t *testing.T) {
	for _, n := range []int64{0, 1, 9, 10, 1234567, 12345678, 99999999, 100000000, 123456789012, 1<<63 - 1, -1, -1234567, -1 << 63} {
		if got, want := FormatSerial(n), fmt.Sprintf("%0*d", SerialWidth, n); got != want {
			t.Errorf("FormatSerial(%d) = %q, want %q", n, got, want)
		}
	}
}
