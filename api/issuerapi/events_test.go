package issuerapi

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/verifier"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, event, data string
}

// openStream connects to /v1/events and returns a channel of events and
// comments (as event "comment"); the channel closes when the stream ends.
func (e *env) openStream(t *testing.T, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ch <- sseEvent{event: "comment", data: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch, cancel
}

func nextStatus(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.event == "status" {
				return ev
			}
		case <-timeout:
			t.Fatal("no status event within 10 s")
		}
	}
}

type eventData struct {
	Issuer     string `json:"issuer"`
	List       string `json:"list"`
	Index      int    `json:"index"`
	Status     string `json:"status"`
	StatusList string `json:"status_list"`
}

// TestEvents: a revocation reaches an open stream as an event whose signed
// status list verifies and shows the entry revoked; Last-Event-ID replays
// what a client missed; idle streams get pings; closing the service ends
// the streams.
func TestEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{Publication: issuer.PublicationConfig{EventPollInterval: 20 * time.Millisecond, EventPingInterval: 100 * time.Millisecond}}, Config{})
		tok := e.tokens[issuertest.TokenIssuer]
		a, b := e.issue(refBusiness), e.issue(refDriving)
		ch, cancel := e.openStream(t, "")
		defer cancel()
		// Pings arrive while nothing happens.
		select {
		case ev := <-ch:
			if ev.event != "comment" || ev.data != "ping" {
				t.Fatalf("first item %+v, want a ping", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no ping")
		}

		e.req("POST", "/v1/licences/"+url.PathEscape(a.ID)+"/suspend", tok, `{"reason":"investigation"}`)
		e.req("POST", "/v1/licences/"+url.PathEscape(b.ID)+"/revoke", tok, `{"reason":"withdrawn"}`)
		first := nextStatus(t, ch)
		second := nextStatus(t, ch)
		var d1, d2 eventData
		json.Unmarshal([]byte(first.data), &d1)
		json.Unmarshal([]byte(second.data), &d2)
		if d1.Issuer != issuertest.Dept || d1.List != a.StatusList || d1.Index != a.StatusIndex || d1.Status != "suspended" {
			t.Errorf("first event %+v", d1)
		}
		if d2.Index != b.StatusIndex || d2.Status != "revoked" {
			t.Errorf("second event %+v", d2)
		}
		id1, _ := strconv.ParseInt(first.id, 10, 64)
		id2, _ := strconv.ParseInt(second.id, 10, 64)
		if id1 <= 0 || id2 <= id1 {
			t.Errorf("event ids %s, %s: want increasing audit sequence numbers", first.id, second.id)
		}
		raw, err := base64.StdEncoding.DecodeString(d2.StatusList)
		if err != nil {
			t.Fatal(err)
		}
		trustRes := e.req("GET", "/v1/trust-list", "", nil)
		trust, err := verifier.NewTrust(&e.f.Root.Key.PublicKey, trustRes.body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sl, err := verifier.NewStatus(trust, raw, time.Now(), "stream")
		if err != nil {
			t.Fatalf("event status list: %v", err)
		}
		if sl.Entries.Get(b.StatusIndex) != format.StatusRevoked {
			t.Errorf("event status list has entry %s", sl.Entries.Get(b.StatusIndex))
		}

		// A client that saw only the first event gets the second replayed.
		ch2, cancel2 := e.openStream(t, first.id)
		defer cancel2()
		if ev := nextStatus(t, ch2); ev.id != second.id {
			t.Errorf("replay after %s gave id %s, want %s", first.id, ev.id, second.id)
		}
		// A re-issue's revocation of the old version is an event too.
		c := e.issue(refBusiness)
		e.req("POST", "/v1/licences/"+url.PathEscape(c.ID)+"/reissue", tok, `{}`)
		var d3 eventData
		json.Unmarshal([]byte(nextStatus(t, ch).data), &d3)
		if d3.Index != c.StatusIndex || d3.Status != "revoked" {
			t.Errorf("re-issue event %+v", d3)
		}

		// Closing the service ends open streams.
		e.svc.Close()
		deadline := time.After(5 * time.Second)
		for open := true; open; {
			select {
			case _, open = <-ch:
			case <-deadline:
				t.Fatal("stream still open after the service closed")
			}
		}
	})
}

// TestEventsAcrossServices: a change made through one service reaches the
// stream of another service on the same database.
func TestEventsAcrossServices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{Publication: issuer.PublicationConfig{EventPollInterval: 20 * time.Millisecond}}, Config{})
		cfg := e.f.Config
		cfg.Registry = nil
		svc2, err := issuer.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer svc2.Close()
		ctx := context.Background()
		sub, err := svc2.Publication.Subscribe(ctx, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		l := e.issue(refDriving)
		e.req("POST", "/v1/licences/"+url.PathEscape(l.ID)+"/revoke", e.tokens[issuertest.TokenIssuer], `{"reason":"penalty"}`)
		select {
		case ev := <-sub.C:
			if ev.Index != l.StatusIndex || ev.Status != "revoked" {
				t.Errorf("event %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the other service saw no event")
		}
	})
}
