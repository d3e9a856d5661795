package issuerapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"elicence/format"
	"elicence/issuer/store"
	"elicence/tlog"
)

// LogLookupFunc says where a licence's leaf (hash leafHash) is in the
// issuance log of its department dept, as the log's lookup answers
// (docs/FORMAT.md §17): the log (nil when the department keeps none) and
// the position, or an error wrapping tlog.ErrNotFound when the log does
// not hold the leaf.
type LogLookupFunc func(ctx context.Context, dept string, leafHash []byte) (*format.DepartmentLog, tlog.Position, error)

// Wallet log states (walletLogJSON.State).
const (
	logIncluded    = "included"    // in a co-signed checkpoint
	logPending     = "pending"     // logged, not yet in a co-signed checkpoint
	logMissing     = "missing"     // the log does not hold it
	logUnavailable = "unavailable" // the log could not be asked
)

// walletLogJSON tells a holder where their licence is in its department's
// issuance log, as the log's lookup says (anyone can check it with the
// checkpoint and tiles it names).
type walletLogJSON struct {
	State          string  `json:"state"`
	Origin         string  `json:"origin"`
	Index          *uint64 `json:"index,omitempty"`
	CheckpointSize *uint64 `json:"checkpoint_size,omitempty"`
}

// walletLogTimeout bounds the lookups of one wallet listing, and
// walletLogParallel how many run at once.
const (
	walletLogTimeout  = 3 * time.Second
	walletLogParallel = 8
)

// LookupLog asks the log lg over HTTP where the leaf with hash leafHash is.
func LookupLog(ctx context.Context, client *http.Client, lg *format.DepartmentLog, leafHash []byte) (tlog.Position, error) {
	base, err := url.Parse(lg.URL)
	if err != nil {
		return tlog.Position{}, err
	}
	return tlog.HTTPFetchers{Client: client, Base: base}.Lookup(ctx, leafHash)
}

// trustListLookup is the default LogLookupFunc: the department's log as
// the published trust list names it, asked over HTTP.
func (a *API) trustListLookup(client *http.Client) LogLookupFunc {
	return func(ctx context.Context, dept string, leafHash []byte) (*format.DepartmentLog, tlog.Position, error) {
		d := a.logDepartments(ctx)[dept]
		if d == nil {
			return nil, tlog.Position{}, nil
		}
		pos, err := LookupLog(ctx, client, d.Log, leafHash)
		return d.Log, pos, err
	}
}

// logDepartments returns the departments of the published trust list that
// keep a log, by code; nil when none does or the list is unavailable.
func (a *API) logDepartments(ctx context.Context) map[string]*format.Department {
	p, err := a.svc.Publication.TrustList(ctx)
	if err != nil {
		return nil
	}
	a.logMu.Lock()
	defer a.logMu.Unlock()
	if a.logETag == p.ETag {
		return a.logDepts
	}
	_, tl, err := format.ParseTrustList(p.Body)
	if err != nil {
		return nil
	}
	depts := map[string]*format.Department{}
	for i := range tl.Departments {
		if d := &tl.Departments[i]; d.Log != nil {
			depts[d.Code] = d
		}
	}
	a.logETag, a.logDepts = p.ETag, depts
	return depts
}

// walletLogPositions looks up each licence, several at once, within
// walletLogTimeout; nil entries for licences of departments without a log.
func (a *API) walletLogPositions(ctx context.Context, ls []store.Licence) []*walletLogJSON {
	out := make([]*walletLogJSON, len(ls))
	ctx, cancel := context.WithTimeout(ctx, walletLogTimeout)
	defer cancel()
	sem := make(chan struct{}, walletLogParallel)
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = a.walletLogPosition(ctx, l)
		}()
	}
	wg.Wait()
	return out
}

func (a *API) walletLogPosition(ctx context.Context, l store.Licence) *walletLogJSON {
	lg, pos, err := a.logLookup(ctx, l.DepartmentCode, tlog.NewLeaf(tlog.KindCredential, l.Credential).Hash())
	if lg == nil {
		return nil
	}
	j := &walletLogJSON{Origin: lg.Origin}
	switch {
	case errors.Is(err, tlog.ErrNotFound):
		j.State = logMissing
	case err != nil:
		a.cfg.Logger.Warn("issuance log lookup failed", "dept", l.DepartmentCode, "origin", lg.Origin, "err", err)
		j.State = logUnavailable
	case pos.CheckpointSize == nil:
		j.State, j.Index = logPending, &pos.Index
	default:
		j.State, j.Index, j.CheckpointSize = logIncluded, &pos.Index, pos.CheckpointSize
	}
	return j
}
