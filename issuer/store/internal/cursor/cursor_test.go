package cursor

import (
	"errors"
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
	for _, c := range []string{"", "!!!", "AQ", Encode(time.Unix(0, 0), "")} {
		if _, _, err := Decode(c); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Decode(%q) error = %v, want ErrInvalid", c, err)
		}
	}
}
