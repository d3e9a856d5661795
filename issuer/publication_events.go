package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"elicence/issuer/store"
)

// Event is one licence status change, as the revocation event stream
// sends it: the entry of a status list that changed and the list signed
// afresh, so that a verifier can apply it at once.
type Event struct {
	// Seq is the audit sequence number of the change; it is the stream's
	// event ID.
	Seq    int64  `json:"-"`
	Issuer string `json:"issuer"`
	List   string `json:"list"`
	Index  int    `json:"index"`
	// Status is "valid", "revoked" or "suspended".
	Status string `json:"status"`
	// StatusList is the signed status list (standard base64 in JSON).
	StatusList []byte `json:"status_list"`
}

// replayPage is how many audit entries a replay reads at a time: the
// memory one replaying stream holds.
const replayPage = 100

// eventBuffer is how many events a slow subscriber may fall behind before
// its stream is ended (it reconnects with Last-Event-ID and catches up).
const eventBuffer = 256

// eventHub polls the audit log, in one goroutine per service, and fans
// status events out to subscribers. Because it reads the shared audit
// log, changes made by any process on the same database reach every
// stream.
type eventHub struct {
	s *Publication

	mu      sync.Mutex
	started bool
	closed  bool
	last    int64 // last audit seq examined
	subs    map[*Subscription]struct{}
	stop    chan struct{}
	stopped chan struct{}
	// woken makes the poller read the log now rather than at its next
	// tick (see wake): the seam for a store that says when the log grew,
	// such as PostgreSQL's LISTEN/NOTIFY.
	woken chan struct{}
}

// Subscription receives events until its channel is closed: at service
// close, or when the subscriber fell too far behind.
type Subscription struct {
	// C delivers live events.
	C   chan Event
	hub *eventHub
	// Head is the audit sequence number the subscription started at: live
	// events on C come after it.
	Head int64
	// Gap reports that the requested Last-Event-ID lies further back than
	// the replay window (Config.EventReplayWindow), or beyond the audit
	// log's head: the events missed are not replayed, and the client must
	// refetch the lists it holds. The stream then goes on from Head.
	Gap bool
	// after and upTo bound the replay: after < Seq ≤ upTo.
	after, upTo int64
}

// Close ends the subscription.
func (sub *Subscription) Close() {
	h := sub.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.C)
	}
}

func newEventHub(s *Publication) *eventHub {
	return &eventHub{s: s, subs: map[*Subscription]struct{}{}, stop: make(chan struct{}), stopped: make(chan struct{}),
		woken: make(chan struct{}, 1)}
}

// Subscribe starts a subscription. With after ≥ 0 (a Last-Event-ID), the
// status events with a greater audit sequence number that precede the
// subscription are to be replayed first with [Subscription.Replay], unless
// after lies more than Config.EventReplayWindow audit entries behind the
// head, in which case the subscription reports a Gap instead.
func (s *Publication) Subscribe(ctx context.Context, after int64) (*Subscription, error) {
	h := s.events
	if err := h.start(ctx); err != nil {
		return nil, err
	}
	sub := &Subscription{C: make(chan Event, eventBuffer), hub: h}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, problem(ErrUnavailable, "the service is shutting down")
	}
	sub.Head = h.last
	h.subs[sub] = struct{}{}
	h.mu.Unlock()
	switch {
	case after < 0 || after == sub.Head:
	case after > sub.Head:
		// Ahead of this process: another process may have seen more of
		// the log, but an ID beyond the log's real head comes from
		// another history (a restored database): start over.
		head, err := s.store.AuditHead(ctx)
		if err != nil {
			sub.Close()
			return nil, err
		}
		sub.Gap = after > head
	case sub.Head-after > s.cfg.EventReplayWindow:
		sub.Gap = true
	default:
		sub.after, sub.upTo = after, sub.Head
	}
	return sub, nil
}

// Replay calls fn, in order, for each status event the subscriber missed
// (after its Last-Event-ID, up to Head). It reads the audit log a page at a
// time, so that its memory is bounded by one page whatever the history;
// an error from fn ends it.
func (sub *Subscription) Replay(ctx context.Context, fn func(Event) error) error {
	s := sub.hub.s
	after, upTo := sub.after, sub.upTo
	for after < upTo {
		limit := int(min(upTo-after, replayPage))
		entries, err := s.store.ListAudit(ctx, after, limit)
		if err != nil {
			return err
		}
		for len(entries) > 0 && entries[len(entries)-1].Seq > upTo {
			entries = entries[:len(entries)-1]
		}
		if len(entries) == 0 {
			return nil
		}
		evs, err := s.eventsOf(ctx, entries)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
		}
		after = entries[len(entries)-1].Seq
	}
	return nil
}

// start finds the audit log's head and starts the poller, once.
func (h *eventHub) start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started || h.closed {
		return nil
	}
	head, err := h.s.store.AuditHead(ctx)
	if err != nil {
		return err
	}
	h.last, h.started = head, true
	go h.run()
	return nil
}

func (h *eventHub) run() {
	defer close(h.stopped)
	if w, ok := h.s.store.(store.StatusWatcher); ok && !h.s.cfg.EventPollOnly {
		// The store says when status changes were committed, by this
		// process or another: read the log then, not at the next tick.
		ctx, cancel := context.WithCancel(context.Background())
		watching := make(chan struct{})
		go func() {
			defer close(watching)
			if err := w.WatchStatus(ctx, h.wake); err != nil {
				h.s.log.Warn("event stream: watch status changes", "err", err)
			}
		}()
		defer func() { cancel(); <-watching }()
	}
	t := time.NewTicker(h.s.cfg.EventPollInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		case <-h.woken:
		}
		if err := h.poll(); err != nil {
			h.s.log.Warn("event stream: poll audit log", "err", err)
		}
	}
}

// poll reads the audit entries after the last one seen and delivers the
// status events among them.
func (h *eventHub) poll() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		h.mu.Lock()
		after := h.last
		h.mu.Unlock()
		entries, err := h.s.store.ListAudit(ctx, after, store.MaxPageSize)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		evs, err := h.s.eventsOf(ctx, entries)
		if err != nil {
			return err
		}
		h.mu.Lock()
		h.last = entries[len(entries)-1].Seq
		for _, ev := range evs {
			for sub := range h.subs {
				select {
				case sub.C <- ev:
				default: // too far behind: end its stream
					delete(h.subs, sub)
					close(sub.C)
				}
			}
		}
		h.mu.Unlock()
		if len(entries) < store.MaxPageSize {
			return nil
		}
	}
}

// wake asks the poller to read the audit log at once; it never blocks,
// and wakes that come while a read is pending fold into it.
func (h *eventHub) wake() {
	select {
	case h.woken <- struct{}{}:
	default:
	}
}

func (h *eventHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	started := h.started
	for sub := range h.subs {
		delete(h.subs, sub)
		close(sub.C)
	}
	h.mu.Unlock()
	close(h.stop)
	if started {
		<-h.stopped
	}
}

// eventsOf turns the status changes among audit entries into events, each
// with its list freshly signed.
func (s *Publication) eventsOf(ctx context.Context, entries []store.AuditEntry) ([]Event, error) {
	var out []Event
	// One page of changes often touches few lists: sign and read each once.
	lists := map[string]*Published{}
	for _, e := range entries {
		switch e.Action {
		case ActionSuspend, ActionReinstate, ActionRevoke, ActionReissue, ActionDocumentRescind:
		default:
			continue
		}
		var d statusDetail
		if err := json.Unmarshal(e.Detail, &d); err != nil || d.List == "" {
			s.log.Warn("event stream: status change without list in audit entry", "seq", e.Seq)
			continue
		}
		pub := lists[d.List]
		if pub == nil {
			var err error
			if pub, err = s.eventList(ctx, d.List, e.Seq); err != nil {
				return nil, err
			}
			if pub == nil {
				continue
			}
			lists[d.List] = pub
		}
		out = append(out, Event{Seq: e.Seq, Issuer: d.Issuer, List: d.List, Index: d.Index, Status: d.Status, StatusList: pub.Body})
		if d.NewStatus != "" && d.NewList != "" && d.NewIndex != nil {
			// A suspended licence re-issued: its new version's entry is
			// suspended too.
			npub, err := s.eventList(ctx, d.NewList, e.Seq)
			if err != nil {
				return nil, err
			}
			if npub == nil {
				continue
			}
			out = append(out, Event{Seq: e.Seq, Issuer: d.Issuer, List: d.NewList, Index: *d.NewIndex, Status: d.NewStatus, StatusList: npub.Body})
		}
	}
	return out, nil
}

// eventList signs status list id for the event of audit entry seq. A list
// that cannot be published (a problem: no active key, say) is logged and
// yields nil, and the event is skipped; other errors end the page.
func (s *Publication) eventList(ctx context.Context, id string, seq int64) (*Published, error) {
	pub, err := s.StatusList(ctx, id)
	var pb *Problem
	if errors.As(err, &pb) {
		s.log.Warn("event stream: status list", "seq", seq, "err", err)
		return nil, nil
	}
	return pub, err
}

// EventPingInterval returns how often an idle stream gets a comment.
func (s *Publication) EventPingInterval() time.Duration { return s.cfg.EventPingInterval }
