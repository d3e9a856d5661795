package verifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/verifier/verifiertest"
)

// FuzzStreamRead feeds arbitrary bytes to the event stream parser as an
// issuer's (or a hostile proxy's) stream: it never panics, always ends
// with an error (the stream closed, or a line too long), keeps no event
// ID with a NUL, and installs only lists that verify under the trust list.
func FuzzStreamRead(f *testing.F) {
	w := verifiertest.NewWorld(f)
	clock := verifiertest.NewClock(t0)
	iss := verifiertest.NewIssuer(f, w, clock.Now)
	c, err := New(context.Background(), FetchConfig{Root: w.RootPublic(), Trust: iss.TrustURL(), Now: clock.Now, Logger: quiet(), Tick: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.Close)
	d := w.Depts[0]
	list := base64.StdEncoding.EncodeToString(iss.StatusList(d, "L1"))
	other := verifiertest.NewWorld(f) // same department codes, other keys
	forged := base64.StdEncoding.EncodeToString(other.SignStatus(f, other.Depts[0], "L1", format.MinStatusListSize, t0, time.Hour, nil))
	for _, s := range []string{
		": hello\n\n",
		"id: 4\nevent: status\ndata: {\"issuer\":\"" + d.Code + "\",\"list\":\"L1\",\"index\":3,\"status\":\"revoked\",\"status_list\":\"" + list + "\"}\n\n",
		"id: 5\r\nevent: status\r\ndata: {\"issuer\":\"" + d.Code + "\",\r\ndata: \"list\":\"L1\",\"status_list\":\"" + forged + "\"}\r\n\r\n",
		"id: 9000\nevent: reset\ndata: {\"reason\":\"replay-window\"}\n\n",
		"retry: 10\n: ping\nid\nevent\ndata\n\n",
		"id: a\x00b\nevent: other\ndata: x\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &subscriber{c: c}
		err := s.read(context.Background(), bytes.NewReader(b), func() {})
		if err == nil {
			t.Fatal("read returned without an error")
		}
		if strings.ContainsRune(s.lastEventID(), 0) {
			t.Fatalf("event id %q kept with a NUL", s.lastEventID())
		}
		for _, l := range c.Stats().Lists {
			if l.Issuer != d.Code || l.List != "L1" {
				t.Fatalf("installed a list %s/%s nobody trusted signed", l.Issuer, l.List)
			}
		}
	})
}
