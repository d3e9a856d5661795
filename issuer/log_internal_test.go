package issuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"elicence/issuer/store"
	"elicence/issuer/store/sqlite"
	"elicence/keys"
	"elicence/tlog"
)

// TestCheckpointRefusesAFork: when the stored history holds a co-signed
// checkpoint the log's tree does not extend (a forged or forked history),
// the cadence's witness refuses to co-sign the next checkpoint and nothing
// is stored, so the fork is never published as consistent.
func TestCheckpointRefusesAFork(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "fork.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := store.AuditEvent{Actor: "test", Action: "setup"}
	if _, err := st.CreateDepartment(ctx, store.Department{Code: "D1", Name: "一号部门"}, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateLicenceType(ctx, store.LicenceType{Code: "BL", Name: "营业执照", Authority: "某局", FieldDefinitions: []byte(`{}`)}, ev); err != nil {
		t.Fatal(err)
	}
	if err := st.Authorise(ctx, "D1", "BL", ev); err != nil {
		t.Fatal(err)
	}
	w, err := keys.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Store: st, Passphrase: []byte("test"), Log: LogConfig{Witness: w, CheckpointInterval: 1 << 40}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	origin, err := svc.Log.Origin(ctx, "D1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := st.IssueLicence(ctx, store.IssueParams{DepartmentCode: "D1", TypeCode: "BL", LogOrigin: origin}, func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			id := fmt.Sprintf("1.2.156.3005.2.BL.D1.%d.1.X", a.Serial)
			return store.Licence{ID: id, DepartmentCode: "D1", TypeCode: "BL", Serial: a.Serial, Version: 1, HolderName: "张三", HolderKind: "citizen",
				HolderCode: "H", Fields: []byte(`{}`), ValidFrom: svc.Now(), IssuedAt: svc.Now(), StatusListID: a.StatusListID, StatusIndex: a.StatusIndex,
				Credential: fmt.Appendf(nil, "credential %d", i), RecordDigest: make([]byte, 32)}, store.AuditEvent{Actor: "test", Action: "licence.issue", Subject: id}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A checkpoint of size 1 whose root is not the log's first leaf,
	// signed by the department's key and co-signed as a first checkpoint.
	ls, err := svc.Log.checkpointKey(ctx, "D1")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: 1, Hash: tlog.NewLeaf(tlog.KindCredential, []byte("forged")).Hash()}, ls.signer)
	if err != nil {
		t.Fatal(err)
	}
	cos, err := tlog.NewCosigner(svc.Log.cfg.WitnessName, w, svc.Now)
	if err != nil {
		t.Fatal(err)
	}
	wit := tlog.Witness{Cosigner: cos, Logs: map[string]note.Verifier{origin: ls.verifier}}
	_, cosigned, err := wit.Cosign(forged, origin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddCheckpoint(ctx, store.LogCheckpoint{Origin: origin, Size: 1, Note: forged, CosignedNote: cosigned, SignedAt: svc.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Log.Checkpoint(ctx); !errors.Is(err, tlog.ErrInconsistent) {
		t.Fatalf("checkpoint over a forked history: %v, want ErrInconsistent", err)
	}
	if c, err := st.LatestCheckpoint(ctx, origin); err != nil || c.Size != 1 {
		t.Fatalf("latest after the refusal: %d, %v; want the forged 1 alone", c.Size, err)
	}
	if _, err := st.CheckpointOfSize(ctx, origin, 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("checkpoint of size 2 stored over a fork: %v", err)
	}
}

// TestLoadWitnessKey: the witness key is made once, encrypted, and read
// back the same; a directory where it cannot be made is ErrNoWitnessKey,
// which lets the issuer run without co-signing; a wrong passphrase fails.
func TestLoadWitnessKey(t *testing.T) {
	dir := t.TempDir()
	k1, created, err := LoadWitnessKey(dir, []byte("pass"))
	if err != nil || !created {
		t.Fatalf("first load: created %v, %v", created, err)
	}
	k2, created, err := LoadWitnessKey(dir, []byte("pass"))
	if err != nil || created || !k1.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k2.Public()) {
		t.Fatalf("second load: created %v, %v, same key: %v", created, err, err == nil)
	}
	if _, _, err := LoadWitnessKey(dir, []byte("wrong")); err == nil || errors.Is(err, ErrNoWitnessKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	if _, _, err := LoadWitnessKey(missing, []byte("pass")); !errors.Is(err, ErrNoWitnessKey) {
		t.Fatalf("uncreatable key: %v, want ErrNoWitnessKey", err)
	}
}
