package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/keys"
	"elicence/tlog"
)

// TestLogTwoProcesses runs two issuer services, each on a Store of its own
// (its own pool and groups, as two processes have), on one PostgreSQL
// database, issuing single (grouped and keyed) and bulk licences at the
// same time while both run the checkpoint cadence every 20 ms with the
// same witness. The log then holds every licence once, gapless, with
// the root of its leaves; both made one checkpoint key between them; and
// the stored checkpoints, one per size, all verify and are each consistent
// with the one before.
func TestLogTwoProcesses(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	witness, err := keys.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logCfg := issuer.LogConfig{Witness: witness, CheckpointInterval: 20 * time.Millisecond}
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	f := issuertest.New(t, open(), issuer.Config{Log: logCfg})
	second, err := issuer.New(issuer.Config{Store: open(), Passphrase: []byte(issuertest.Passphrase), DecryptKey: issuertest.DecryptKey, Log: logCfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for s, svc := range []*issuer.Service{f.Service, second} {
		p, err := svc.Admin.Authenticate(ctx, f.Tokens[issuertest.TokenIssuer])
		if err != nil {
			t.Fatal(err)
		}
		for w := range 3 {
			wg.Go(func() {
				for i := range 15 {
					var err error
					switch w {
					case 0:
						_, err = svc.Licences.IssueBulk(ctx, p, strings.NewReader(bulkInput(s*100000+i*40, 40)), issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: 20}, func(issuer.BulkRow) error { return nil })
					default:
						req := bizRequest(fmt.Sprintf("并发%d-%d-%d", s, w, i))
						key := ""
						if w == 2 {
							key = fmt.Sprintf("multi-%d-%d", s, i)
						}
						_, _, err = svc.Licences.Issue(ctx, p, req, key)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := checkLogAgrees(t, url)
	if want := 2 * (15*40 + 2*15); n != want {
		t.Fatalf("%d licences, want %d", n, want)
	}
	for _, svc := range []*issuer.Service{f.Service, second} {
		if err := svc.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The history: one checkpoint key, checkpoints that verify with it and
	// the witness, each consistent with the one before, the last of size n.
	k, err := f.Store.LogKey(ctx, issuertest.Dept)
	if err != nil {
		t.Fatal(err)
	}
	verifier := func(name, typ string, spki []byte, open func(string) (note.Verifier, error)) note.Verifier {
		pub, err := keys.ParsePublicKey(spki)
		if err != nil {
			t.Fatal(err)
		}
		vk, err := tlog.VerifierKey(name, typ, pub)
		if err != nil {
			t.Fatal(err)
		}
		v, err := open(vk)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	logKey := verifier(logOrigin, tlog.NoteSigType, k.PublicKey, func(s string) (note.Verifier, error) { return tlog.NewNoteVerifier(s) })
	wspki, err := keys.MarshalPublicKeyDER(&witness.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	wKey := verifier(issuer.DefaultLogHost+"/witness", tlog.CosigSigType, wspki, func(s string) (note.Verifier, error) { return tlog.NewCosigVerifier(s) })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var keysStored int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tlog_key`).Scan(&keysStored); err != nil || keysStored != 2 {
		t.Fatalf("%d checkpoint keys for 2 departments: %v", keysStored, err)
	}
	rows, _ := conn.Query(ctx, `SELECT cosigned_note FROM tlog_checkpoint WHERE origin = $1 ORDER BY size`, logOrigin)
	notes, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return tlog.ReadTile(ctx, f.Store, logOrigin, level, index, p)
	}
	var prev *tlog.SignedCheckpoint
	for _, b := range notes {
		cp, err := tlog.OpenCheckpoint(b, logOrigin, logKey, wKey)
		if err != nil || len(cp.Cosignatures) != 1 {
			t.Fatalf("checkpoint %q: %v", b, err)
		}
		if prev != nil {
			proof, err := tlog.NewProofBuilder(cp.Size, fetch).ConsistencyProof(ctx, prev.Size, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if prev.Size == 0 {
				proof = nil
			}
			if err := tlog.CheckConsistency(*prev, cp, proof); err != nil {
				t.Fatalf("checkpoint %d after %d: %v", cp.Size, prev.Size, err)
			}
		}
		prev = &cp
	}
	if prev == nil || prev.Size != uint64(n) {
		t.Fatalf("latest checkpoint %v, want size %d (%d checkpoints)", prev, n, len(notes))
	}
	t.Logf("%d licences, %d checkpoints", n, len(notes))
}
