package cursor

import (
	"errors"
	"math"
	"testing"
	"time"

	"elicence/issuer/store"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 30, 0, 123456000, time.UTC)
	id := "1.2.156.3005.2.BL.SAMR.42.1.X"
	gotT, gotID, err := Decode(Encode(at, id))
	if err != nil || !gotT.Equal(at) || gotID != id {
		t.Fatalf("Decode(Encode) = %v, %q, %v; want %v, %q", gotT, gotID, err, at, id)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []string{"", "!!!", "AQ", Encode(time.Unix(0, 0), ""),
		Encode(time.UnixMicro(math.MaxInt64), "x"), Encode(time.UnixMicro(math.MinInt64), "x"), Encode(time.Unix(-1, 0), "x"),
		Encode(time.Unix(1, 0), "a\x00b"), Encode(time.Unix(1, 0), "\xff")} {
		if _, _, err := Decode(c); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Decode(%q) error = %v, want ErrInvalid", c, err)
		}
	}
}
