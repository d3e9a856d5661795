package issuerapi

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// changeStatus suspends or reinstates licence id through the API and
// returns nothing; it fails the test on any answer but 200.
func (e *env) changeStatus(t *testing.T, id string, suspend bool) {
	t.Helper()
	path, body := "/reinstate", `{}`
	if suspend {
		path, body = "/suspend", `{"reason":"investigation"}`
	}
	if res := e.req("POST", "/v1/licences/"+url.PathEscape(id)+path, e.tokens[issuertest.TokenIssuer], body); res.status != 200 {
		t.Fatalf("%s: %d %s", path, res.status, res.body)
	}
}

// TestEventsReplayWindow: a Last-Event-ID within the replay window gets the
// missed events; one further back (or 0 after a long history) gets a
// "reset" event whose id is the head, and no replay.
func TestEventsReplayWindow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, issuer.Config{Publication: issuer.PublicationConfig{EventPollInterval: 20 * time.Millisecond, EventPingInterval: 100 * time.Millisecond, EventReplayWindow: 3}}, Config{})
		a := e.issue(refBusiness)
		live, cancel := e.openStream(t, "")
		defer cancel()
		var ids []string
		for i := range 5 {
			e.changeStatus(t, a.ID, i%2 == 0)
			ids = append(ids, nextStatus(t, live).id)
		}
		head := ids[4]

		// Within the window: ids[2] is 2 entries behind the head.
		ch, cancel2 := e.openStream(t, ids[2])
		defer cancel2()
		for _, want := range ids[3:] {
			if ev := nextStatus(t, ch); ev.id != want {
				t.Fatalf("replay after %s gave id %s, want %s", ids[2], ev.id, want)
			}
		}

		// Beyond it, or beyond the head (another history): a reset, and
		// then nothing replayed.
		h, _ := strconv.ParseInt(head, 10, 64)
		for _, last := range []string{"0", ids[0], strconv.FormatInt(h+1000, 10)} {
			ch, cancel := e.openStream(t, last)
			ev := nextEvent(t, ch)
			if ev.event != "reset" || ev.id != head || !strings.Contains(ev.data, `"replay-window"`) {
				t.Fatalf("Last-Event-ID %s: first event %+v, want reset with id %s", last, ev, head)
			}
			if ev := nextEvent(t, ch); ev.event != "comment" {
				t.Fatalf("Last-Event-ID %s: after the reset %+v, want only pings", last, ev)
			}
			cancel()
		}
	})
}

// nextEvent returns the next event or comment of a stream.
func nextEvent(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("nothing on the stream within 10 s")
	}
	return sseEvent{}
}

// streamFrom opens GET /v1/events from local address ip and returns the
// answer; the caller closes its body.
func (e *env) streamFrom(t *testing.T, ctx context.Context, ip string) *http.Response {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/events", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == 200 {
		// Wait for the first bytes, so the slot is surely held.
		if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// TestEventsStreamCaps: beyond its per-address share a client gets 429,
// beyond the total every client gets 503, both problems with Retry-After;
// a closed stream frees its slot.
func TestEventsStreamCaps(t *testing.T) {
	st := issuertest.Backends()[0].Open(t)
	e := newEnv(t, st, issuer.Config{}, Config{MaxStreams: 3, MaxStreamsPerClient: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(ip string, want int) *http.Response {
		t.Helper()
		res := e.streamFrom(t, ctx, ip)
		if res.StatusCode != want {
			t.Fatalf("stream from %s: %d, want %d", ip, res.StatusCode, want)
		}
		if want != 200 {
			defer res.Body.Close()
			p := (resp{status: res.StatusCode, header: res.Header, body: readAll(t, res)}).problem(t)
			if p.Status != want || p.Detail == "" {
				t.Fatalf("problem %+v", p)
			}
			if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s <= 0 {
				t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
			}
		}
		return res
	}
	first := open("127.0.0.1", 200)
	second := open("127.0.0.1", 200)
	defer second.Body.Close()
	open("127.0.0.1", http.StatusTooManyRequests)
	third := open("127.0.0.2", 200)
	defer third.Body.Close()
	open("127.0.0.3", http.StatusServiceUnavailable)

	first.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := e.streamFrom(t, ctx, "127.0.0.3")
		res.Body.Close()
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after a stream closed: %d", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
