package issuer

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"elicence/issuer/store"
	"elicence/issuer/store/sqlite"
	"elicence/keys"
)

// TestShortKeyIDRefused: a key whose short key ID (its ID's first 4 bytes)
// another department's key already has is refused, whatever department
// it is for; any other key is not.
func TestShortKeyIDRefused(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "keys.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := store.AuditEvent{Actor: "test", Action: "test"}
	for _, code := range []string{"A", "B"} {
		if _, err := st.CreateDepartment(ctx, store.Department{Code: code, Name: code}, ev); err != nil {
			t.Fatal(err)
		}
	}
	k, err := keys.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := keys.MarshalPublicKeyDER(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := keys.IDOfDER(spki).String()
	if _, err := st.AddSigningKey(ctx, store.SigningKey{ID: id, DepartmentCode: "A", PublicKey: spki, PrivateKeyPEM: []byte("x"), State: store.KeyActive}, ev); err != nil {
		t.Fatal(err)
	}
	s := &core{store: st}
	if err := s.checkShortKeyID(ctx, id); err != nil {
		t.Errorf("the key itself: %v", err)
	}
	twin := id[:8] + "00000000"
	if twin == id {
		twin = id[:8] + "11111111"
	}
	if err := s.checkShortKeyID(ctx, twin); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("a key sharing the short key id %s: %v, want ErrDuplicate", id[:8], err)
	}
	if err := s.checkShortKeyID(ctx, "ffffffff"+id[8:]); err != nil && id[:8] != "ffffffff" {
		t.Errorf("another short key id: %v", err)
	}
}
