package verifiertest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicence/format"
)

// Issuer is an issuer double: it serves a World's trust list and status
// lists over HTTP as the issuer does (ETag, Cache-Control, 304 on
// If-None-Match), and the revocation event stream (Server-Sent Events with
// replay after Last-Event-ID). Status changes re-sign the list at the
// clock's time and publish an event.
//
// Routes: GET /v1/trust-list, GET /v1/status/{dept}/{list}, GET /v1/events.
type Issuer struct {
	*httptest.Server
	World *World
	Now   func() time.Time
	// TTL is the status lists' time-to-live; MaxAge the Cache-Control
	// max-age of every answer.
	TTL    time.Duration
	MaxAge time.Duration
	// Size is the number of entries in each status list.
	Size int

	tb      testing.TB
	mu      sync.Mutex
	trust   []byte
	lists   map[[2]string]*list
	events  []event
	lastIDs []string      // Last-Event-ID of each stream connection
	wakeup  chan struct{} // closed and replaced on every event
	drop    chan struct{} // closed and replaced to drop every stream

	failing atomic.Bool
	gate    atomic.Pointer[chan struct{}]

	// TrustGets and StatusGets count GET requests; NotModified the 304s,
	// StatusNotModified those of status lists; Streams the stream
	// connections.
	TrustGets, StatusGets, NotModified, StatusNotModified, Streams atomic.Int64
}

type list struct {
	entries  *format.Statuses
	raw      []byte
	issuedAt time.Time
}

type event struct {
	id   int
	data []byte
}

// NewIssuer starts an issuer double for w. It sets every department's
// StatusURL to the double, signs trust list sequence 1, valid for a day,
// and is closed when the test ends.
func NewIssuer(tb testing.TB, w *World, now func() time.Time) *Issuer {
	tb.Helper()
	i := &Issuer{World: w, Now: now, TTL: 5 * time.Minute, MaxAge: 60 * time.Second, Size: format.MinStatusListSize,
		tb: tb, lists: map[[2]string]*list{}, wakeup: make(chan struct{}), drop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/trust-list", i.serveTrust)
	mux.HandleFunc("GET /v1/status/{dept}/{list}", i.serveStatus)
	mux.HandleFunc("GET /v1/events", i.serveEvents)
	i.Server = httptest.NewServer(mux)
	tb.Cleanup(func() {
		i.DropStreams()
		i.Server.Close()
	})
	for _, d := range w.Depts {
		d.StatusURL = i.URL + "/v1/status/" + d.Code + "/{list}"
	}
	i.PublishTrust(1, now().Add(-time.Minute), now().Add(24*time.Hour))
	return i
}

// TrustURL is the trust list's URL.
func (i *Issuer) TrustURL() string { return i.URL + "/v1/trust-list" }

// EventsURL is the event stream's URL.
func (i *Issuer) EventsURL() string { return i.URL + "/v1/events" }

// PublishTrust signs and serves the world's trust list as it is now.
func (i *Issuer) PublishTrust(seq uint64, issuedAt, nextUpdate time.Time) {
	for _, d := range i.World.Depts {
		if d.StatusURL == "" {
			d.StatusURL = i.URL + "/v1/status/" + d.Code + "/{list}"
		}
	}
	raw := i.World.SignTrust(i.tb, seq, issuedAt, nextUpdate)
	i.SetTrust(raw)
}

// SetTrust serves raw as the trust list.
func (i *Issuer) SetTrust(raw []byte) {
	i.mu.Lock()
	i.trust = raw
	i.mu.Unlock()
}

// SetStatus sets one entry, re-signs the list at the clock's time and
// publishes a status event.
func (i *Issuer) SetStatus(d *Dept, listID string, index uint32, s format.Status) {
	i.mu.Lock()
	l := i.listLocked(d, listID)
	l.entries.Set(int(index), s)
	i.signLocked(d, listID, l)
	data, _ := json.Marshal(map[string]any{
		"issuer": d.Code, "list": listID, "index": index, "status": s.String(),
		"status_list": base64.StdEncoding.EncodeToString(l.raw),
	})
	i.events = append(i.events, event{id: len(i.events) + 1, data: data})
	close(i.wakeup)
	i.wakeup = make(chan struct{})
	i.mu.Unlock()
}

// Resign signs d's list again at the clock's time, without an event, as an
// issuer does before the list's time-to-live ends.
func (i *Issuer) Resign(d *Dept, listID string) {
	i.mu.Lock()
	i.signLocked(d, listID, i.listLocked(d, listID))
	i.mu.Unlock()
}

// StatusList returns the signed list as served now, creating it.
func (i *Issuer) StatusList(d *Dept, listID string) []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.listLocked(d, listID).raw
}

// SetStatusRaw serves raw as d's list listID, as a misbehaving or rolled
// back server might.
func (i *Issuer) SetStatusRaw(d *Dept, listID string, raw []byte) {
	i.mu.Lock()
	i.listLocked(d, listID).raw = raw
	i.mu.Unlock()
}

func (i *Issuer) listLocked(d *Dept, listID string) *list {
	k := [2]string{d.Code, listID}
	l := i.lists[k]
	if l == nil {
		l = &list{entries: format.NewStatuses(i.Size, format.StatusBits)}
		i.lists[k] = l
		i.signLocked(d, listID, l)
	}
	return l
}

func (i *Issuer) signLocked(d *Dept, listID string, l *list) {
	at := i.Now()
	if at.Before(l.issuedAt) {
		at = l.issuedAt // issued-at never goes backwards
	}
	l.issuedAt = at
	l.raw = i.World.SignEntries(i.tb, d, listID, l.entries, at, i.TTL)
}

// SetFailing makes every answer 503 (true) or normal again (false).
func (i *Issuer) SetFailing(f bool) { i.failing.Store(f) }

// Hold makes trust and status requests wait until the returned function is
// called.
func (i *Issuer) Hold() (release func()) {
	ch := make(chan struct{})
	i.gate.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			i.gate.Store(nil)
			close(ch)
		})
	}
}

// DropStreams closes every open event stream connection.
func (i *Issuer) DropStreams() {
	i.mu.Lock()
	close(i.drop)
	i.drop = make(chan struct{})
	i.mu.Unlock()
}

// LastEventIDs returns the Last-Event-ID header of each stream connection,
// in order ("" when absent).
func (i *Issuer) LastEventIDs() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.lastIDs...)
}

func (i *Issuer) wait(w http.ResponseWriter) bool {
	if g := i.gate.Load(); g != nil {
		<-*g
	}
	if i.failing.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (i *Issuer) serveTrust(w http.ResponseWriter, r *http.Request) {
	i.TrustGets.Add(1)
	if !i.wait(w) {
		return
	}
	i.mu.Lock()
	raw := i.trust
	i.mu.Unlock()
	i.serveSigned(w, r, raw)
}

func (i *Issuer) serveStatus(w http.ResponseWriter, r *http.Request) {
	i.StatusGets.Add(1)
	if !i.wait(w) {
		return
	}
	d := i.World.Dept(r.PathValue("dept"))
	if d == nil {
		http.NotFound(w, r)
		return
	}
	if i.serveSigned(w, r, i.StatusList(d, r.PathValue("list"))) {
		i.StatusNotModified.Add(1)
	}
}

// serveSigned serves raw with its ETag and reports whether it answered 304.
func (i *Issuer) serveSigned(w http.ResponseWriter, r *http.Request, raw []byte) bool {
	sum := sha256.Sum256(raw)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(i.MaxAge/time.Second)))
	if r.Header.Get("If-None-Match") == etag {
		i.NotModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(raw)
	return false
}

func (i *Issuer) serveEvents(w http.ResponseWriter, r *http.Request) {
	if i.failing.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	i.Streams.Add(1)
	last, _ := strconv.Atoi(strings.TrimSpace(r.Header.Get("Last-Event-ID")))
	i.mu.Lock()
	i.lastIDs = append(i.lastIDs, r.Header.Get("Last-Event-ID"))
	drop := i.drop
	i.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	fmt.Fprint(w, ": hello\n\n")
	rc.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		i.mu.Lock()
		pending := i.events[min(last, len(i.events)):]
		wake := i.wakeup
		i.mu.Unlock()
		for _, e := range pending {
			fmt.Fprintf(w, "id: %d\nevent: status\ndata: %s\n\n", e.id, e.data)
			last = e.id
		}
		if len(pending) > 0 {
			rc.Flush()
		}
		select {
		case <-wake:
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			rc.Flush()
		case <-drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}
