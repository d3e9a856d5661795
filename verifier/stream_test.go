package verifier

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/verifier/verifiertest"
)

func withStream(fc *FetchConfig, iss *verifiertest.Issuer) {
	fc.Events = []string{iss.EventsURL()}
	fc.MinBackoff = 50 * time.Millisecond
}

func newStreamEnv(t *testing.T) *env { return newEnv(t, withStream) }

func TestStreamRevocationWithinOneSecond(t *testing.T) {
	e := newStreamEnv(t)
	text := e.qr(t, 9)
	want(t, e.verify(text), Passed, "")
	eventually(t, 5*time.Second, "stream connected", func() bool { return e.cache.Stats().StreamsConnected == 1 })
	// Past the list's refresh time nothing is polled: the HTTP fetches are
	// held, so only the stream can bring the revocation.
	release := e.iss.Hold()
	defer release()

	for _, step := range []struct {
		status format.Status
		ind    Indication
		sub    SubIndication
	}{
		{format.StatusRevoked, Failed, Revoked},
		{format.StatusSuspended, Failed, Suspended},
		{format.StatusValid, Passed, ""},
	} {
		e.iss.SetStatus(e.d, "L1", 9, step.status)
		took := eventually(t, time.Second, step.status.String()+" seen through the stream", func() bool {
			r := e.verify(text)
			return r.Indication == step.ind && r.SubIndication == step.sub
		})
		r := e.verify(text)
		if r.Status.Source != "stream" {
			t.Fatalf("%s: status source %q, want stream", step.status, r.Status.Source)
		}
		t.Logf("%s visible after %s", step.status, took)
	}
	if s := e.cache.Stats(); s.Events != 3 {
		t.Fatalf("%d events applied, want 3", s.Events)
	}
}

func TestStreamReconnectsWithLastEventID(t *testing.T) {
	e := newStreamEnv(t)
	text := e.qr(t, 11)
	want(t, e.verify(text), Passed, "")
	eventually(t, 5*time.Second, "stream connected", func() bool { return e.cache.Stats().StreamsConnected == 1 })
	e.iss.SetStatus(e.d, "L1", 11, format.StatusSuspended) // event 1
	eventually(t, time.Second, "event 1", func() bool { return e.verify(text).SubIndication == Suspended })

	// HTTP is held so that only the replayed event can carry the change.
	release := e.iss.Hold()
	defer release()
	e.iss.DropStreams()
	eventually(t, 5*time.Second, "stream dropped", func() bool { return e.cache.Stats().StreamsConnected == 0 })
	e.iss.SetStatus(e.d, "L1", 11, format.StatusRevoked) // event 2, sent while disconnected
	eventually(t, 5*time.Second, "event 2 replayed after reconnecting", func() bool { return e.verify(text).SubIndication == Revoked })

	ids := e.iss.LastEventIDs()
	if len(ids) < 2 || ids[0] != "" || ids[len(ids)-1] != "1" {
		t.Fatalf("Last-Event-ID per connection %q, want \"\" then \"1\"", ids)
	}
	if got := e.cache.streams[0].lastEventID(); got != "2" {
		t.Fatalf("last event id %q, want 2", got)
	}
}

func TestStreamRefusesForgedEvent(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 12)
	e.iss.SetStatus(e.d, "L1", 12, format.StatusRevoked)
	want(t, e.verify(text), Failed, Revoked)

	// A list signed by a key outside the trust list, and one for another
	// list than the event names, are refused; the revocation stays.
	ctx := context.Background()
	mallory := verifiertest.NewWorld(t).Depts[0]
	forged := e.w.SignStatus(t, mallory, "L1", format.MinStatusListSize, t0.Add(time.Hour), time.Hour, nil)
	for _, data := range []string{
		`{"issuer":"DEPTA","list":"L1","index":12,"status":"valid","status_list":"` + base64.StdEncoding.EncodeToString(forged) + `"}`,
		`{"issuer":"DEPTA","list":"L2","status_list":"` + base64.StdEncoding.EncodeToString(e.iss.StatusList(e.d, "L1")) + `"}`,
		`{"issuer":"DEPTA","list":"L1","status_list":"not base64"}`,
		`not json`,
	} {
		if err := e.cache.applyEvent(ctx, []byte(data)); err == nil {
			t.Errorf("event %.60s… accepted", data)
		}
	}
	want(t, e.verify(text), Failed, Revoked)

	// An older list from the stream does not replace a newer one either.
	older := e.w.SignStatus(t, e.d, "L1", format.MinStatusListSize, t0.Add(-time.Hour), time.Hour, nil)
	ev, _ := json.Marshal(StatusEvent{Issuer: "DEPTA", List: "L1", StatusList: base64.StdEncoding.EncodeToString(older)})
	if err := e.cache.applyEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	want(t, e.verify(text), Failed, Revoked)
}

func TestStreamParser(t *testing.T) {
	e := newEnv(t)
	list := base64.StdEncoding.EncodeToString(e.iss.StatusList(e.d, "L7"))
	stream := ": hello\r\n\r\n" +
		"id: 3\nevent: other\ndata: ignored\n\n" +
		"id: 4\nevent: status\ndata: {\"issuer\":\"DEPTA\",\ndata: \"list\":\"L7\",\"status_list\":\"" + list + "\"}\n\n" +
		"retry: 10\n: ping\n\n" +
		"id: 5\n" // no blank line: never dispatched
	s := &subscriber{c: e.cache}
	err := s.read(context.Background(), strings.NewReader(stream), func() {})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("err %v, want closed by the server", err)
	}
	if s.lastEventID() != "4" {
		t.Fatalf("last event id %q, want 4", s.lastEventID())
	}
	found := false
	for _, l := range e.cache.Stats().Lists {
		found = found || l.List == "L7" && l.Source == "stream"
	}
	if !found {
		t.Fatal("multi-line data event not applied")
	}

	long := "data: " + strings.Repeat("A", maxEventLine) + "\n\n"
	if err := s.read(context.Background(), strings.NewReader(long), func() {}); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Fatalf("overlong line: err %v", err)
	}
	line, err := readLine(bufio.NewReaderSize(strings.NewReader("abc\r\n"), 16), 10)
	if err != nil || string(line) != "abc" {
		t.Fatalf("readLine = %q, %v", line, err)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	e := newEnv(t, func(fc *FetchConfig, iss *verifiertest.Issuer) {
		withStream(fc, iss)
		fc.StreamIdle = 100 * time.Millisecond // the double pings only every 15 s
	})
	eventually(t, 5*time.Second, "reconnected after going idle", func() bool { return e.iss.Streams.Load() >= 3 })
}

func TestStreamDownFallsBackToPolling(t *testing.T) {
	e := newEnv(t, func(fc *FetchConfig) {
		fc.Events = []string{"http://127.0.0.1:1/v1/events"} // nothing listens there
		fc.MinBackoff = 50 * time.Millisecond
	})
	text := e.qr(t, 13)
	want(t, e.verify(text), Passed, "")
	e.iss.SetStatus(e.d, "L1", 13, format.StatusRevoked)
	e.clock.Advance(time.Minute) // past 80 % of the max-age
	eventually(t, 5*time.Second, "revocation by polling", func() bool { return e.verify(text).SubIndication == Revoked })
	if s := e.cache.Stats(); s.Streams != 1 || s.StreamsConnected != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestStreamResetRefetches: a "reset" event (the issuer could not replay
// what was missed) makes the subscriber refetch the trust list and every
// held status list, so a change it never got an event for is seen.
func TestStreamResetRefetches(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 14)
	want(t, e.verify(text), Passed, "")
	// A change without an event reaching this cache: the held list is
	// still fresh, so nothing fetches it yet.
	e.iss.SetStatus(e.d, "L1", 14, format.StatusRevoked)
	want(t, e.verify(text), Passed, "")
	trustGets := e.iss.TrustGets.Load()

	s := &subscriber{c: e.cache}
	stream := "id: 9000\nevent: reset\ndata: {\"reason\":\"replay-window\"}\n\n"
	if err := s.read(context.Background(), strings.NewReader(stream), func() {}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("err %v, want closed by the server", err)
	}
	if s.lastEventID() != "9000" {
		t.Fatalf("last event id %q, want 9000 (the stream resumes from the reset)", s.lastEventID())
	}
	eventually(t, 5*time.Second, "revocation refetched after the reset", func() bool { return e.verify(text).SubIndication == Revoked })
	eventually(t, 5*time.Second, "trust list refetched after the reset", func() bool { return e.iss.TrustGets.Load() > trustGets })
	if got := e.cache.Stats().Resets; got != 1 {
		t.Fatalf("%d resets counted, want 1", got)
	}
}
