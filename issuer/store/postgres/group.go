package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"elicence/issuer/store"
	"elicence/tlog"
)

// Group commit of single issuances.
//
// Concurrent IssueLicence calls without an idempotency key for the same
// department and type are gathered into groups: calls that arrive while
// groupsInFlight groups of their kind are being written wait and form the
// next group, so a lone call waits for nobody and a busy process writes up
// to maxGroup licences per transaction. A group allocates its serials and
// slots together, builds (signs) its licences in parallel, and writes them
// in one transaction, each licence with its own audit entry, under one
// lock of the audit head, followed by one flush (see durability.go).
//
// Every call keeps its own outcome: a build that fails or returns an
// invalid licence fails only its call (its serial and slot stay unused, as
// for any failed issuance). If the group's transaction fails, each licence
// is written again in a transaction of its own, so a duplicate or a
// constraint violation fails only the call it belongs to. Nobody is
// answered before the flush that makes their licence durable.
//
// A group's work is cancelled only once every caller's context is done,
// and each caller waits for its group whatever happens to its context, so
// that no build outlives its call. A build that panics panics in its
// caller.
const (
	maxGroup       = 64
	groupsInFlight = 2
)

// issueCall is one IssueLicence call waiting in a group.
type issueCall struct {
	ctx   context.Context
	build func(store.Allocation) (store.Licence, store.AuditEvent, error)
	done  chan struct{}

	l        store.Licence
	ev       store.AuditEvent
	err      error
	panicked any // a panic of build, raised again in the caller
}

type groupKey struct{ dept, typ, key, origin string }

// issueQueue holds the calls of one department and type waiting for a group.
type issueQueue struct {
	waiting []*issueCall
	running int // groups being written
}

// groups gathers concurrent issuances; the zero value is ready.
type groups struct {
	mu     sync.Mutex
	queues map[groupKey]*issueQueue
}

// issueGrouped issues one licence as part of a group.
func (s *licenceStore) issueGrouped(ctx context.Context, p store.IssueParams, build func(store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	c := &issueCall{ctx: ctx, build: build, done: make(chan struct{})}
	k := groupKey{p.DepartmentCode, p.TypeCode, p.KeyID, p.LogOrigin}
	g := &s.groups
	g.mu.Lock()
	if g.queues == nil {
		g.queues = map[groupKey]*issueQueue{}
	}
	q := g.queues[k]
	if q == nil {
		q = &issueQueue{}
		g.queues[k] = q
	}
	q.waiting = append(q.waiting, c)
	start := q.running < groupsInFlight
	if start {
		q.running++
	}
	g.mu.Unlock()
	if start {
		go s.writeGroups(k, q)
	}
	<-c.done
	if c.panicked != nil {
		panic(c.panicked)
	}
	if c.err != nil {
		return store.Licence{}, c.err
	}
	return c.l, nil
}

// writeGroups writes groups of q's waiting calls until none is left.
func (s *licenceStore) writeGroups(k groupKey, q *issueQueue) {
	g := &s.groups
	for {
		g.mu.Lock()
		if len(q.waiting) == 0 {
			q.running--
			if q.running == 0 {
				delete(g.queues, k)
			}
			g.mu.Unlock()
			return
		}
		n := min(len(q.waiting), maxGroup)
		calls := make([]*issueCall, n)
		copy(calls, q.waiting)
		q.waiting = q.waiting[n:]
		if len(q.waiting) == 0 {
			q.waiting = nil
		}
		g.mu.Unlock()
		s.issueGroup(k, calls)
		for _, c := range calls {
			close(c.done)
		}
	}
}

// groupContext returns a context that is done once every call's context
// is done: a group goes on while anyone still waits for it.
func groupContext(calls []*issueCall) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(calls[0].ctx))
	var live atomic.Int32
	live.Store(int32(len(calls)))
	stops := make([]func() bool, len(calls))
	for i, c := range calls {
		stops[i] = context.AfterFunc(c.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// issueGroup issues calls, all of department and type k, setting each
// call's licence or error.
func (s *licenceStore) issueGroup(k groupKey, calls []*issueCall) {
	ctx, done := groupContext(calls)
	defer done()
	failAll := func(err error) {
		for _, c := range calls {
			c.err = err
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		failAll(err)
		return
	}
	defer conn.Release()
	n := len(calls)
	first, err := allocSerials(ctx, conn, k.dept, k.typ, n)
	if err != nil {
		failAll(err)
		return
	}
	quotas, err := s.reserveQuota(ctx, conn, k.dept, n)
	if err != nil {
		failAll(err)
		return
	}
	sl, err := takeSlots(ctx, conn, quotas)
	if err != nil {
		failAll(err)
		return
	}
	var wg sync.WaitGroup
	for i, c := range calls {
		a := store.Allocation{Serial: first + int64(i), Version: 1, StatusListID: sl[i].list, StatusIndex: sl[i].index}
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					c.panicked, c.err = r, errors.New("build panicked")
				}
			}()
			l, ev, err := c.build(a)
			if err != nil {
				c.err = fmt.Errorf("build: %w", err)
				return
			}
			if err := errors.Join(l.CheckAllocation(k.dept, k.typ, "", a), ev.Validate()); err != nil {
				c.err = err
				return
			}
			c.l, c.ev = l, ev
		})
	}
	wg.Wait()
	now := s.clock()
	var ok []*issueCall
	for _, c := range calls {
		if c.err == nil {
			prepare(&c.l, now)
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return
	}
	if err := s.writeIssued(ctx, conn, k, ok); err != nil {
		if len(ok) == 1 || errors.Is(err, store.ErrKeyNotActive) {
			for _, c := range ok {
				c.err = err
			}
			return
		}
		// Find whose licence it was: write each on its own.
		for _, c := range ok {
			c.err = s.writeIssued(ctx, conn, k, []*issueCall{c})
		}
	}
	if err := s.flush(ctx, conn); err != nil {
		for _, c := range ok {
			if c.err == nil {
				c.err = err
			}
		}
	}
}

// insertLicences inserts new licences (first versions: no supersedes, no
// status reason) from one array per column.
const insertLicences = `INSERT INTO licences (id, department_code, type_code, serial, version,
	holder_name, holder_kind, holder_code, fields, valid_from, valid_until, issued_at,
	status, status_list_id, status_index, credential, record_digest, updated_at, record)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::integer[],
		$6::text[], $7::text[], $8::text[], $9::bytea[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
		$13::smallint[], $14::text[], $15::integer[], $16::bytea[], $17::bytea[], $18::timestamptz[], $19::bytea[])`

// insertAudit appends audit entries from one array per column and moves
// the head to $9, $10.
const insertAudit = `WITH head AS (UPDATE audit_head SET seq = $9, hash = $10 WHERE id = 1)
	INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
	SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bytea[], $8::bytea[])`

// writeIssued stores the built licences of calls and their audit entries
// in one transaction, committed asynchronously; the caller flushes. It
// takes two round trips: the first begins, inserts the licences and locks
// the audit head, the second appends the entries and commits.
func (s *licenceStore) writeIssued(ctx context.Context, conn *pgxpool.Conn, k groupKey, calls []*issueCall) (err error) {
	n := len(calls)
	var (
		ids, depts, types, names, kinds, codes, lists = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		serials                                       = make([]int64, n)
		versions, indices                             = make([]int32, n), make([]int32, n)
		statuses                                      = make([]int16, n)
		fields, creds, digests, records               = make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		from, issued, updated                         = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		until                                         = make([]*time.Time, n)
		events                                        = make([]store.AuditEvent, n)
	)
	for i, c := range calls {
		l := &c.l
		ids[i], depts[i], types[i], serials[i], versions[i] = l.ID, l.DepartmentCode, l.TypeCode, l.Serial, int32(l.Version)
		names[i], kinds[i], codes[i], fields[i] = l.HolderName, l.HolderKind, l.HolderCode, bytesOf(l.Fields)
		from[i], issued[i], statuses[i], lists[i], indices[i] = l.ValidFrom, l.IssuedAt, int16(l.Status), l.StatusListID, int32(l.StatusIndex)
		if !l.ValidUntil.IsZero() {
			until[i] = &l.ValidUntil
		}
		creds[i], digests[i], updated[i], records[i] = l.Credential, l.RecordDigest, l.UpdatedAt, bytesOf(l.Record)
		events[i] = c.ev
	}
	defer func() {
		if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
			conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	var seq int64
	var hash []byte
	var keyState store.KeyState
	// The leaves hashed before the locks the batch below takes.
	var leaves []tlog.HashedLeaf
	var refs []store.LogRef
	if k.origin != "" {
		ls := make([]tlog.Leaf, n)
		refs = make([]store.LogRef, n)
		for i, c := range calls {
			ls[i], refs[i] = store.LicenceLeaf(&c.l), store.LogRef{LicenceID: c.l.ID}
		}
		leaves = tlog.HashLeaves(ls...)
	}
	var keyErr error
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	if k.key != "" {
		// Hold the signing key until the commit (see holdKey).
		b.Queue(holdKeyQuery, k.dept, k.key).QueryRow(func(r pgx.Row) error {
			keyErr = keyStateErr(r.Scan(&keyState), keyState, k.dept, k.key)
			return nil
		})
	}
	b.Queue(insertLicences, ids, depts, types, serials, versions, names, kinds, codes, fields,
		from, until, issued, statuses, lists, indices, creds, digests, updated, records)
	// The leaves' lookup rows before the locks (see prelogLeaves).
	lt := &logTx{refs: refs}
	if k.origin != "" {
		lt.pre = queuePrelog(b, leaves)
	}
	b.Queue(`SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).QueryRow(func(r pgx.Row) error {
		return r.Scan(&seq, &hash)
	})
	// The log's row after the audit head, as every issuing transaction
	// takes them (tlog.go).
	if k.origin != "" {
		lt.lockLogAhead(b, k.origin)
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return mapErr(err)
	}
	if keyErr != nil {
		return keyErr
	}
	if k.origin != "" {
		// A log never appended to gets its state row now, in the
		// transaction the batch opened.
		if err := lt.finishLock(ctx, conn, k.origin); err != nil {
			return err
		}
	}
	// Read the clock under the lock, as appendAudit does.
	entries := store.NewAuditEntries(seq, hash, s.clock(), events...)
	var (
		seqs                      = make([]int64, n)
		ats                       = make([]time.Time, n)
		actors, actions, subjects = make([]string, n), make([]string, n), make([]string, n)
		details, prevs, hashes    = make([][]byte, n), make([][]byte, n), make([][]byte, n)
	)
	for i, e := range entries {
		seqs[i], ats[i], actors[i], actions[i], subjects[i] = e.Seq, e.Time, e.Actor, e.Action, e.Subject
		details[i], prevs[i], hashes[i] = bytesOf(e.Detail), e.PrevHash, e.Hash
	}
	last := entries[n-1]
	b = &pgx.Batch{}
	b.Queue(insertAudit, seqs, ats, actors, actions, subjects, details, prevs, hashes, last.Seq, last.Hash)
	if k.origin != "" {
		lt.batch = b
		if _, _, err := tlog.AppendHashed(ctx, lt, k.origin, leaves); err != nil {
			return fmt.Errorf("issuance log: %w", err)
		}
	}
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("append audit entries: %w", err)
	}
	return nil
}
