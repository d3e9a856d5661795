package issuerapi

import (
	"bufio"
	"context"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// Replay memory bound: replayStreams streams that each replay a history of
// replayChanges status changes (Last-Event-ID: 0, within the window) may
// together raise the heap by at most replayHeapBound. Before the replay
// was paged, each stream held its whole history (about 800 bytes per
// change: 200 streams × 5,000 changes took 804 MB), which here would be
// about 100 × 3,000 × 800 B = 240 MB.
const (
	replayChanges   = 3000
	replayStreams   = 100
	replayHeapBound = 64 << 20
)

// heapPeak samples the heap in use until stop is closed and returns the
// highest value seen.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func TestEventReplayMemoryBound(t *testing.T) {
	testenv.MemoryBound(t)
	st := issuertest.Backends()[0].Open(t) // SQLite: the store does not change what a stream holds
	e := newEnv(t, st, issuer.Config{Publication: issuer.PublicationConfig{EventPollInterval: 20 * time.Millisecond}}, Config{MaxStreamsPerClient: replayStreams})
	ctx := context.Background()
	p, err := e.svc.Admin.Authenticate(ctx, e.tokens[issuertest.TokenIssuer])
	if err != nil {
		t.Fatal(err)
	}
	l := e.issue(refBusiness)
	for i := range replayChanges {
		to, reason := store.StatusSuspended, "investigation"
		if i%2 == 1 {
			to, reason = store.StatusValid, ""
		}
		if _, err := e.svc.Licences.ChangeStatus(ctx, p, l.ID, to, reason); err != nil {
			t.Fatal(err)
		}
	}
	// The head: the last change's event id, seen by a live stream.
	sub, err := e.svc.Publication.Subscribe(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	head := strconv.FormatInt(sub.Head, 10)
	sub.Close()

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	peakc := heapPeak(stop)
	var wg sync.WaitGroup
	var events atomic.Int64
	start := time.Now()
	var firstByte atomic.Int64
	errs := make(chan error, replayStreams)
	for range replayStreams {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			req, _ := http.NewRequestWithContext(cctx, "GET", e.srv.URL+"/v1/events", nil)
			req.Header.Set("Last-Event-ID", "0")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				errs <- &streamError{res.StatusCode}
				return
			}
			br := bufio.NewReaderSize(res.Body, 4096)
			for n := 0; ; n++ {
				line, err := br.ReadSlice('\n')
				if n == 0 {
					firstByte.CompareAndSwap(0, int64(time.Since(start)))
				}
				if err != nil {
					errs <- err
					return
				}
				if s, ok := strings.CutPrefix(string(line), "id: "); ok {
					events.Add(1)
					if strings.TrimSpace(s) == head {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	peak := <-peakc
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, want := events.Load(), int64(replayStreams*replayChanges); got != want {
		t.Fatalf("%d events replayed, want %d", got, want)
	}
	grew := int64(peak) - int64(base.HeapAlloc)
	t.Logf("%d streams × %d changes: heap peak +%.1f MB (bound %d MB), first byte after %s, all replayed after %s",
		replayStreams, replayChanges, float64(grew)/(1<<20), replayHeapBound>>20, time.Duration(firstByte.Load()), time.Since(start))
	if grew > replayHeapBound {
		t.Fatalf("replay raised the heap by %.1f MB, bound %d MB", float64(grew)/(1<<20), replayHeapBound>>20)
	}
}

type streamError struct{ status int }

func (e *streamError) Error() string { return "stream answered " + strconv.Itoa(e.status) }
