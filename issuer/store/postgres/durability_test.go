package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
)

// lazyWAL makes a private cluster's WAL writer flush asynchronous commits
// only every 10 seconds, so that a change committed asynchronously and not
// flushed is still in the server's memory when it is stopped with -m
// immediate, and lost.
var lazyWAL = []string{
	"wal_writer_delay = 10s",
	"wal_writer_flush_after = 1GB",
	"autovacuum = off",
	"checkpoint_timeout = 1h",
}

// TestFlushSurvivesImmediateStop issues, revokes, suspends and re-issues
// licences on a cluster whose WAL writer sleeps, stops the server with
// -m immediate right after the last answer, and checks that every answered
// change survived. With the flush this replaced (SELECT
// pg_current_xact_id(), which writes no WAL and so does not wait for the
// disk) the last changes of each round were lost.
func TestFlushSurvivesImmediateStop(t *testing.T) {
	c := pgtest.NewCluster(t, lazyWAL...)
	ctx := context.Background()
	st, f, p := issuerFixture(t, c.NewDatabase("durable"))
	req := func(i int) issuer.Request { return bizRequest(fmt.Sprintf("福州示例科技有限公司%d", i)) }
	want := map[string]store.Status{} // answered licences and their answered status
	for round := range 3 {
		var last string
		for i := range 6 {
			key := ""
			if i%2 == 0 {
				key = fmt.Sprintf("durable-%d-%d", round, i) // keyed path; the others are grouped
			}
			l, _, err := f.Service.Licences.Issue(ctx, p, req(round*10+i), key)
			if err != nil {
				t.Fatalf("round %d: issue: %v", round, err)
			}
			want[l.ID] = store.StatusValid
			last = l.ID
		}
		var ids []string
		for id, s := range want {
			if s == store.StatusValid && id != last {
				ids = append(ids, id)
			}
		}
		// Re-issue one, suspend one, revoke one; the last answer is a
		// status change.
		nl, _, err := f.Service.Licences.Reissue(ctx, p, ids[0], issuer.ReissueRequest{}, "")
		if err != nil {
			t.Fatalf("round %d: re-issue: %v", round, err)
		}
		want[ids[0]], want[nl.ID] = store.StatusRevoked, store.StatusValid
		if _, err := f.Service.Licences.ChangeStatus(ctx, p, ids[1], store.StatusSuspended, issuer.SuspensionReasons[0]); err != nil {
			t.Fatalf("round %d: suspend: %v", round, err)
		}
		want[ids[1]] = store.StatusSuspended
		if _, err := f.Service.Licences.ChangeStatus(ctx, p, last, store.StatusRevoked, issuer.RevocationReasons[0]); err != nil {
			t.Fatalf("round %d: revoke: %v", round, err)
		}
		want[last] = store.StatusRevoked

		c.Crash()
		c.Start()
		var lost []string
		for id, s := range want {
			l, err := readAfterRestart(ctx, st, id)
			switch {
			case err != nil:
				lost = append(lost, id+": "+err.Error())
			case l.Status != s:
				lost = append(lost, fmt.Sprintf("%s: %s, answered %s", id, l.Status, s))
			}
		}
		if len(lost) > 0 {
			t.Fatalf("round %d: %d of %d answered changes lost in an immediate stop:\n%s", round, len(lost), len(want), strings.Join(lost, "\n"))
		}
		if _, err := st.VerifyChain(ctx); err != nil {
			t.Fatalf("round %d: audit chain after recovery: %v", round, err)
		}
	}
}

// readAfterRestart reads licence id, trying again while the store is
// unavailable: connections pooled before the restart fail once each
// (unexpected EOF), which is an outage the caller sees as 503, not a loss.
func readAfterRestart(ctx context.Context, st *postgres.Store, id string) (store.Licence, error) {
	for attempt := 0; ; attempt++ {
		l, err := st.Licence(ctx, issuertest.Dept, id)
		if err == nil || !store.IsUnavailable(err) || attempt == 20 {
			return l, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
