package verifier

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"elicence/format"
)

// The issuer's revocation event stream (GET <issuer>/v1/events) is
// Server-Sent Events. Each status change is one event:
//
//	id: 42
//	event: status
//	data: {"issuer":"…","list":"…","index":7,"status":"revoked","status_list":"<base64>"}
//
// where status_list is the freshly signed status list (standard base64), so
// that no fetch is needed: the subscriber verifies it like a fetched list
// and installs it unless it is older than the one held. The issuer sends a
// ": ping" comment every 15 s and replays the events after Last-Event-ID.
// A Last-Event-ID too far back to replay gets instead
//
//	id: 9000
//	event: reset
//	data: {"reason":"replay-window"}
//
// on which the subscriber refetches the trust list and every status list it
// holds (conditionally), since it may have missed any change; the stream
// goes on from the reset's id. The event carries nothing to trust: it only
// makes the subscriber fetch sooner.
//
// When the stream drops, the subscriber reconnects with backoff and
// Last-Event-ID; meanwhile the cache keeps polling status lists by their
// time-to-live, as it always does. On every (re)connection it also
// refreshes every held list, in case the issuer could not replay the events
// missed.

// maxEventLine bounds one line of the stream: base64 of the largest signed
// object, plus the JSON around it.
var maxEventLine = base64.StdEncoding.EncodedLen(format.MaxSigned) + 4096

// StatusEvent is the data of a "status" event.
type StatusEvent struct {
	Issuer string `json:"issuer"`
	List   string `json:"list"`
	Index  uint32 `json:"index"`
	// Status is "revoked", "suspended" or "valid".
	Status string `json:"status"`
	// StatusList is the signed status list after the change, standard base64.
	StatusList string `json:"status_list"`
}

type subscriber struct {
	c         *Cache
	url       string
	connected atomic.Bool
	mu        sync.Mutex
	lastID    string
}

// run keeps the subscription up until ctx is done.
func (s *subscriber) run(ctx context.Context) {
	log := s.c.log.With("stream", s.url)
	hi := min(s.c.cfg.MaxBackoff, 30*time.Second)
	failures := 0
	for ctx.Err() == nil {
		connected, err := s.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			failures = 0
		}
		failures++
		d := backoff(failures, s.c.cfg.MinBackoff, hi)
		if connected {
			log.Warn("event stream dropped; polling status lists until it is back", "err", err, "reconnect_in", d)
		} else {
			log.Warn("event stream unavailable; polling status lists meanwhile", "err", err, "retry_in", d)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// once connects, reads events until the stream ends, and reports whether it
// was connected at all.
func (s *subscriber) once(ctx context.Context) (connected bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return false, fmt.Errorf("event stream: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	s.mu.Lock()
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	s.mu.Unlock()
	resp, err := s.c.cfg.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("event stream: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("event stream: %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, fmt.Errorf("event stream: content type %q, want text/event-stream", mt)
	}

	s.connected.Store(true)
	defer s.connected.Store(false)
	s.c.log.Info("event stream connected", "stream", s.url)
	s.c.refreshAllSoon()

	// A stream silent for longer than StreamIdle is dead: drop it.
	idle := time.AfterFunc(s.c.cfg.StreamIdle, cancel)
	defer idle.Stop()
	return true, s.read(ctx, resp.Body, func() { idle.Reset(s.c.cfg.StreamIdle) })
}

// read parses the event stream (the WHATWG Server-Sent Events format) and
// applies each status event. alive is called on every line.
func (s *subscriber) read(ctx context.Context, body io.Reader, alive func()) error {
	br := bufio.NewReaderSize(body, 64<<10)
	var (
		event string
		data  bytes.Buffer
		id    string
		hasID bool
	)
	for {
		line, err := readLine(br, maxEventLine)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("event stream: idle for %s", s.c.cfg.StreamIdle)
			}
			if errors.Is(err, io.EOF) {
				return errors.New("event stream: closed by the server")
			}
			return fmt.Errorf("event stream: %w", err)
		}
		alive()
		if len(line) == 0 { // dispatch
			if hasID {
				s.mu.Lock()
				s.lastID = id
				s.mu.Unlock()
			}
			switch {
			case data.Len() > 0 && event == "status":
				if err := s.c.applyEvent(ctx, data.Bytes()); err != nil {
					s.c.stats.refused.Add(1)
					s.c.log.Warn("status event refused", "stream", s.url, "id", id, "err", err)
				}
			case event == "reset":
				s.c.stats.resets.Add(1)
				s.c.log.Info("event stream reset: changes missed; refetching the trust list and every status list", "stream", s.url, "id", id)
				s.c.refetchAll()
			}
			event, hasID = "", false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue // comment, e.g. ": ping"
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "event":
			event = string(value)
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(value)
		case "id":
			if !bytes.ContainsRune(value, 0) {
				id, hasID = string(value), true
			}
		case "retry":
			// The server's reconnection delay is ignored: the subscriber's
			// own backoff applies.
		}
	}
}

// readLine reads one line ended by LF or CRLF, without its line ending,
// refusing lines longer than max. (A lone CR, which the format also allows
// as a line ending, is not one the issuer writes.)
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		if err == bufio.ErrBufferFull {
			line = append(line, frag...)
			continue
		}
		if err != nil {
			return nil, err
		}
		if line == nil {
			line = frag
		} else {
			line = append(line, frag...)
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}

// applyEvent verifies the status list a status event carries and installs
// it unless it is older than the one held.
func (c *Cache) applyEvent(ctx context.Context, data []byte) error {
	var ev StatusEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(ev.StatusList)
	if err != nil {
		return fmt.Errorf("event status list: %w", err)
	}
	trust, err := c.Trust(ctx)
	if err != nil {
		return fmt.Errorf("event status list: %w", err)
	}
	now := c.now()
	st, err := c.verifyStatus(ctx, trust, raw, now, sourceStream)
	if err != nil {
		return fmt.Errorf("event status list: %w", err)
	}
	if ev.Issuer != "" && ev.Issuer != st.List.Issuer || ev.List != "" && ev.List != st.List.List {
		return fmt.Errorf("event names list %s/%s but carries %s/%s", ev.Issuer, ev.List, st.List.Issuer, st.List.List)
	}
	k := statusKey{st.List.Issuer, st.List.List}
	got, err := c.install(k, st, "", c.nextRefresh(now, st.Expires(), -1))
	if err != nil {
		return fmt.Errorf("event status list: %w", err)
	}
	if got.Source == sourceStream && string(got.Raw) == string(st.Raw) {
		c.stats.events.Add(1)
		c.log.Info("status event applied", "issuer", k.issuer, "list", k.list, "index", ev.Index, "status", ev.Status)
	}
	return nil
}

// refreshAllSoon marks every held status list due, so that the background
// loop fetches each again (conditionally) right away.
func (c *Cache) refreshAllSoon() {
	c.mu.Lock()
	for _, e := range c.status {
		e.next = time.Time{}
	}
	c.mu.Unlock()
	c.kick()
}

// refetchAll marks the trust list and every held status list due, after a
// reset event said that changes were missed.
func (c *Cache) refetchAll() {
	c.mu.Lock()
	c.trust.next = time.Time{}
	for _, e := range c.status {
		e.next = time.Time{}
	}
	c.mu.Unlock()
	c.kick()
}

// lastEventID returns the subscriber's Last-Event-ID, for tests.
func (s *subscriber) lastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}
