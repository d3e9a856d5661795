package api

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serveFastTest runs ServeFast with h and route on a loopback port; stop
// ends it and returns what ServeFast returned.
func serveFastTest(t *testing.T, h http.Handler, route FastRoute, grace time.Duration) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeFast(ctx, ln, h, route, grace) }()
	stopped := false
	var res error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			res = <-done
		}
		return res
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

// TestServeFastShutdown: at the context's end the server stops accepting
// and lets a request in flight, on the bridge or the native route, finish
// within the grace period.
func TestServeFastShutdown(t *testing.T) {
	for _, native := range []bool{false, true} {
		started, release := make(chan struct{}), make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "done")
		})
		route := FastRoute{Method: http.MethodGet, Path: "/native", MaxBody: 0,
			Serve: func(rc *fasthttp.RequestCtx, _ context.Context, _ []byte) bool {
				close(started)
				<-release
				rc.SetBodyString("done")
				return true
			}}
		base, stop := serveFastTest(t, h, route, 5*time.Second)
		path := "/bridge"
		if native {
			path = "/native"
		}
		got := make(chan string, 1)
		go func() {
			resp, err := http.Get(base + path)
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- fmt.Sprintf("%s %s close=%v", resp.Status, b, resp.Close)
		}()
		<-started
		stopped := make(chan error, 1)
		go func() { stopped <- stop() }()
		// New connections are refused once shutdown began.
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatal("still accepting connections after shutdown began")
			}
			time.Sleep(10 * time.Millisecond)
		}
		select {
		case err := <-stopped:
			t.Fatalf("native %v: ServeFast returned (%v) with a request in flight", native, err)
		default:
		}
		close(release)
		if s := <-got; s != "200 OK done close=true" {
			t.Errorf("native %v: request in flight got %q", native, s)
		}
		if err := <-stopped; err != nil {
			t.Errorf("native %v: ServeFast returned %v", native, err)
		}
	}
}

// TestServeFastGraceEnds: a request still running when the grace period
// ends has its connection closed, and ServeFast returns.
func TestServeFastGraceEnds(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(3 * time.Second)
	})
	base, stop := serveFastTest(t, h, FastRoute{}, 100*time.Millisecond)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	begin := time.Now()
	if err := stop(); err == nil {
		t.Error("ServeFast returned nil although the grace period ended with a request running")
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("ServeFast took %v to return after a grace of 100ms", d)
	}
	if err := <-errc; err == nil {
		t.Error("the request outlived the grace period")
	}
}
