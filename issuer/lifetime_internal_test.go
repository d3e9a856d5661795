package issuer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer/store/sqlite"
)

// TestPresentationTTLCapped: the issuer refuses a presentation lifetime that
// verifiers would refuse (format.MaxPresentationLifetime), and accepts the cap
// itself; annotated copies share the verifiers' cap by construction.
func TestPresentationTTLCapped(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "cap.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := New(Config{Store: st, Wallet: WalletConfig{PresentationTTL: format.MaxPresentationLifetime + time.Second}}); err == nil || !strings.Contains(err.Error(), "presentation ttl") {
		t.Fatalf("New with a presentation ttl beyond the cap: err %v, want a refusal", err)
	}
	s, err := New(Config{Store: st, Wallet: WalletConfig{PresentationTTL: format.MaxPresentationLifetime}})
	if err != nil {
		t.Fatalf("New at the cap: %v", err)
	}
	s.Close()
	if MaxAnnotatedCopyValidity != format.MaxAnnotatedCopyLifetime {
		t.Fatalf("issuer annotated copy cap %s, verifiers accept %s", MaxAnnotatedCopyValidity, format.MaxAnnotatedCopyLifetime)
	}
}
