package issuer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"elicence/issuer/store"
	"elicence/keys"
)

// ReissueKeyOptions configures ReissueKey.
type ReissueKeyOptions struct {
	// BatchSize is the most licences re-issued in one all-or-nothing
	// transaction; zero means DefaultBulkBatchSize, at most
	// store.MaxPageSize.
	BatchSize int
	// Workers is how many batches are signed and stored at once; zero
	// means GOMAXPROCS.
	Workers int
	// Progress, when set, receives the running totals after each batch
	// (from one goroutine at a time).
	Progress func(ReissueKeySummary)
}

// ReissueKeySummary totals a ReissueKey run.
type ReissueKeySummary struct {
	Department string `json:"department"`
	// Key is the retired or compromised key whose licences are re-issued,
	// KeyState its state, NewKey the department's active key that signs
	// the new versions.
	Key      string `json:"key"`
	KeyState string `json:"key_state"`
	NewKey   string `json:"new_key"`
	// Scanned counts the department's current (valid or suspended)
	// licences examined; Eligible those signed by Key and not expired.
	Scanned  int `json:"scanned"`
	Eligible int `json:"eligible"`
	// Reissued counts the new versions made by this run.
	Reissued int `json:"reissued"`
	// Expired counts licences signed by Key whose validity has ended: they
	// are left as they are.
	Expired int `json:"expired"`
	// Skipped counts licences that changed while the run prepared them
	// (revoked or re-issued by someone else); NotAuthorised those whose
	// type the department may no longer issue; Invalid those that no
	// longer pass their licence type's rules. None of them is re-issued.
	Skipped       int `json:"skipped"`
	NotAuthorised int `json:"not_authorised"`
	Invalid       int `json:"invalid"`
	// Failures names the licences counted in NotAuthorised and Invalid
	// (the first 100).
	Failures []ReissueFailure `json:"failures,omitempty"`
	Batches  int              `json:"batches"`
	// Seconds is the run's wall-clock time. SignSeconds is the time spent
	// building and signing credentials and StoreSeconds the rest of the
	// batches' time (locking, COPY, superseding, audit, commit), both
	// summed over workers.
	Seconds      float64 `json:"seconds"`
	SignSeconds  float64 `json:"sign_seconds"`
	StoreSeconds float64 `json:"store_seconds"`
}

// ReissueFailure is a licence ReissueKey could not re-issue.
type ReissueFailure struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// maxReissueFailures bounds ReissueKeySummary.Failures.
const maxReissueFailures = 100

// ReissueKey is the remedy for a retired or compromised key: it re-issues
// every still-valid licence of the department signed by key id (status
// valid or suspended, not expired, not superseded) under the
// department's current active key. Each licence gets a new version of
// the same identifier, with the same content and status (a suspended
// licence stays suspended), and its old version is revoked as
// superseded, in batches of all-or-nothing transactions signed and
// stored in parallel as bulk issuance does.
//
// It is resumable: a run that stops (crash, cancelled context) leaves
// every licence either re-issued once or untouched, and running it again
// re-issues the rest. Each licence is re-issued at most once however
// often, and however many processes at once, it runs: the store replaces
// only a current version, under lock.
//
// Only the operator may run it. It fails with a problem when the key does
// not exist (404), is the active key (409), or the department has no
// active key to sign with (503).
func (s *Licences) ReissueKey(ctx context.Context, p *Principal, dept, id string, opts ReissueKeyOptions) (ReissueKeySummary, error) {
	start := time.Now()
	sum := ReissueKeySummary{Department: dept, Key: id}
	if err := requireOperator(p); err != nil {
		return sum, err
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBulkBatchSize
	}
	if opts.BatchSize < 1 || opts.BatchSize > store.MaxPageSize {
		return sum, fieldError("batch_size", "1 to %d", store.MaxPageSize)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if _, err := s.store.Department(ctx, dept); errors.Is(err, store.ErrNotFound) {
		return sum, problem(store.ErrNotFound, "no department %s", dept)
	} else if err != nil {
		return sum, err
	}
	kid, err := keys.ParseID(id)
	if err != nil {
		return sum, problem(store.ErrNotFound, "no key %q in department %s", id, dept)
	}
	old, err := s.store.SigningKey(ctx, dept, id)
	if errors.Is(err, store.ErrNotFound) {
		return sum, problem(store.ErrNotFound, "no key %s in department %s", id, dept)
	}
	if err != nil {
		return sum, err
	}
	sum.KeyState = string(old.State)
	if old.State == store.KeyActive {
		return sum, problem(store.ErrInvalidTransition, "key %s is the active key of department %s; its licences need no re-issue "+
			"(add a new key, retire it or mark it compromised first)", id, dept)
	}
	sg, err := s.activeSignerWithin(ctx, dept, 0)
	if err != nil {
		var pb *Problem
		if errors.As(err, &pb) && errors.Is(err, ErrUnavailable) {
			return sum, problem(ErrUnavailable, "department %s has no active signing key to re-issue under; add one first", dept)
		}
		return sum, err
	}
	sum.NewKey = sg.id.String()

	run := &rekeyRun{s: s, p: p, dept: dept, oldKey: id, now: s.now(), sum: &sum, opts: opts, sg: sg}
	// The first batch to fail ends the run: the group's context stops the
	// scan and the other workers.
	work := make(chan []store.Licence)
	g, gctx := errgroup.WithContext(ctx)
	for range opts.Workers {
		g.Go(func() error {
			for b := range work {
				if err := run.batch(gctx, b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	scanErr := run.scan(gctx, kid, opts.BatchSize, work)
	close(work)
	err = g.Wait()
	sum.Seconds = time.Since(start).Seconds()
	if err != nil {
		return sum, err
	}
	if scanErr != nil {
		return sum, scanErr
	}
	return sum, nil
}

// rekeyRun is one ReissueKey run.
type rekeyRun struct {
	s      *Licences
	p      *Principal
	dept   string
	oldKey string
	now    time.Time
	opts   ReissueKeyOptions

	mu  sync.Mutex
	sg  *signer
	sum *ReissueKeySummary
}

func (r *rekeyRun) failure(id, reason string) {
	if len(r.sum.Failures) < maxReissueFailures {
		r.sum.Failures = append(r.sum.Failures, ReissueFailure{ID: id, Reason: reason})
	}
}

// scan pages through the department's current licences and sends those
// signed by the old key, in batches, to work. The pages run newest first
// by issue time: the new versions (issued now) never come up again.
func (r *rekeyRun) scan(ctx context.Context, kid keys.ID, batchSize int, work chan<- []store.Licence) error {
	var batch []store.Licence
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case work <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = nil
		return nil
	}
	for _, st := range []store.Status{store.StatusValid, store.StatusSuspended} {
		q := store.LicenceQuery{DepartmentCode: r.dept, Status: &st, Limit: store.MaxPageSize}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			page, next, err := r.s.store.ListLicences(ctx, q)
			if err != nil {
				return err
			}
			for _, l := range page {
				match, err := signedByKey(l.Credential, kid)
				if err != nil {
					return fmt.Errorf("stored credential of %s: %w", l.ID, err)
				}
				r.mu.Lock()
				r.sum.Scanned++
				expired := !l.ValidUntil.IsZero() && !r.now.Before(l.ValidUntil)
				switch {
				case !match:
				case expired:
					r.sum.Expired++
				default:
					r.sum.Eligible++
				}
				r.mu.Unlock()
				if match && !expired {
					batch = append(batch, l)
					if len(batch) == batchSize {
						if err := send(); err != nil {
							return err
						}
					}
				}
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
	}
	return send()
}

// rekeyPrepared is a licence of a batch ready to be signed again.
type rekeyPrepared struct {
	v  *Validated
	lt *LicenceType
}

// batch re-issues one batch in one transaction.
func (r *rekeyRun) batch(ctx context.Context, ls []store.Licence) error {
	prep := make(map[string]rekeyPrepared, len(ls))
	var ids []string
	for _, l := range ls {
		lt, err := r.s.licenceType(ctx, l.TypeCode)
		if err != nil {
			return err
		}
		req := RequestOf(l)
		v, err := req.Validate(lt, r.now)
		if err != nil {
			r.mu.Lock()
			r.sum.Invalid++
			r.failure(l.ID, err.Error())
			r.mu.Unlock()
			continue
		}
		prep[l.ID] = rekeyPrepared{v: v, lt: lt}
		ids = append(ids, l.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	origin, err := r.s.logOrigin(ctx, r.dept)
	if err != nil {
		return err
	}
	var res []store.Reissued
	var sign time.Duration
	start := time.Now()
	for attempt := 0; ; attempt++ {
		sign = 0
		r.mu.Lock()
		sg := r.sg
		r.mu.Unlock()
		var err error
		res, err = r.s.store.ReissueBatch(ctx, store.ReissueBatchParams{DepartmentCode: r.dept, LicenceIDs: ids, KeyID: sg.id.String(), LogOrigin: origin},
			func(old store.Licence, a store.Allocation) (store.Licence, store.AuditEvent, error) {
				pp, ok := prep[old.ID]
				if !ok {
					return store.Licence{}, store.AuditEvent{}, fmt.Errorf("licence %s was not prepared", old.ID)
				}
				t := time.Now()
				l, err := r.s.build(&prepared{v: pp.v, lt: pp.lt, sg: sg, dept: r.dept}, a, r.now, old.ID)
				sign += time.Since(t)
				if err != nil {
					return store.Licence{}, store.AuditEvent{}, err
				}
				return l, store.AuditEvent{Actor: r.p.TokenID, Action: ActionReissue, Subject: old.ID, Detail: reissueDetail(old, l, r.oldKey)}, nil
			})
		if errors.Is(err, store.ErrKeyNotActive) && attempt == 0 {
			// The department's key changed during the run: continue under
			// the new one.
			r.s.forgetKeys(r.dept)
			nsg, err := r.s.activeSignerWithin(ctx, r.dept, 0)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.sg, r.sum.NewKey = nsg, nsg.id.String()
			r.mu.Unlock()
			continue
		}
		if errors.Is(err, store.ErrKeyNotActive) {
			return problem(ErrUnavailable, "the signing key of department %s keeps changing; run the re-issue again", r.dept)
		}
		if err != nil {
			return err
		}
		break
	}
	total := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.SignSeconds += sign.Seconds()
	r.sum.StoreSeconds += (total - sign).Seconds()
	n := 0
	for _, x := range res {
		switch x.Skipped {
		case "":
			n++
		case store.SkipNotAuthorised:
			r.sum.NotAuthorised++
			r.failure(x.Old.ID, "the department is no longer authorised to issue licence type "+x.Old.TypeCode)
		default:
			r.sum.Skipped++
		}
	}
	r.sum.Reissued += n
	r.sum.Batches++
	r.s.metrics.issued.WithLabelValues("reissue_key").Add(float64(n))
	r.s.metrics.statusChanges.WithLabelValues(store.StatusRevoked.String()).Add(float64(n))
	if r.opts.Progress != nil {
		r.opts.Progress(*r.sum)
	}
	return nil
}

// newestVersions keeps, of each licence (department, type and serial),
// only its newest version: a holder sees the re-issued licence, not the
// version it superseded.
func newestVersions(ls []store.Licence) []store.Licence {
	type serial struct {
		dept, typ string
		n         int64
	}
	newest := map[serial]int{}
	for _, l := range ls {
		k := serial{l.DepartmentCode, l.TypeCode, l.Serial}
		if v, ok := newest[k]; !ok || l.Version > v {
			newest[k] = l.Version
		}
	}
	out := ls[:0:0]
	for _, l := range ls {
		if newest[serial{l.DepartmentCode, l.TypeCode, l.Serial}] == l.Version {
			out = append(out, l)
		}
	}
	return out
}
