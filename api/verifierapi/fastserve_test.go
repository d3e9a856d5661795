package verifierapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	neturl "net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"elicence/api"
	"elicence/api/verifierapi"
	"elicence/web"
)

// serveFast runs srv as "elicence verifier serve" runs it (the pages
// around it, on api.ServeFast with its native route) on a loopback port
// until the test ends, and returns its base URL.
func serveFast(t testing.TB, srv *verifierapi.Server) string {
	t.Helper()
	return serveOn(t, func(ctx context.Context, ln net.Listener) error {
		return api.ServeFast(ctx, ln, web.VerifierPages().Wrap(srv), srv.FastRoute(), time.Second)
	})
}

// serveNetHTTP runs srv with the pages around it on api.Serve (net/http).
func serveNetHTTP(t testing.TB, srv *verifierapi.Server) string {
	t.Helper()
	return serveOn(t, func(ctx context.Context, ln net.Listener) error {
		return api.Serve(ctx, ln, web.VerifierPages().Wrap(srv), time.Second)
	})
}

func serveOn(t testing.TB, serve func(context.Context, net.Listener) error) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// rawResponse is what a client reads of an answer: the status, the
// headers but the framing and the date, and the body, de-chunked.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
	closed bool // the server closed the connection after it
}

// exchange sends the raw requests on one connection and reads an answer
// to each, until the server closes the connection.
func exchange(t *testing.T, base string, reqs ...string) []rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var out []rawResponse
	for _, req := range reqs {
		if _, err := io.WriteString(c, req); err != nil {
			break
		}
		method, _, _ := strings.Cut(req, " ")
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			break
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		for _, k := range []string{"Date", "Content-Length", "Transfer-Encoding"} {
			resp.Header.Del(k)
		}
		closed := resp.Close
		if !closed {
			// Did the server hang up anyway?
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := br.Peek(1); err == io.EOF {
				closed = true
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
		}
		resp.Header.Del("Connection")
		if !strings.Contains(req, "X-Request-ID: req-1\r\n") {
			// A generated request ID, a fresh 16-hex token.
			if id := resp.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("generated request ID %q", id)
			}
			resp.Header.Set("X-Request-Id", "generated")
		}
		out = append(out, rawResponse{status: resp.StatusCode, header: resp.Header, body: body, closed: closed})
		if closed {
			break
		}
	}
	return out
}

func rawPost(path, ctype, body string, extra ...string) string {
	h := "POST " + path + " HTTP/1.1\r\nHost: verifier.test\r\nX-Request-ID: req-1\r\n"
	if ctype != "" {
		h += "Content-Type: " + ctype + "\r\n"
	}
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

func rawGet(path string, extra ...string) string {
	h := "GET " + path + " HTTP/1.1\r\nHost: verifier.test\r\nX-Request-ID: req-1\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n"
}

// TestFastServeMatchesNetHTTP: the verifier on api.ServeFast answers as
// the same server on net/http does, status, headers (but the date and the
// framing), body and whether the connection is kept: the native route's
// answers, the requests it leaves to the handler, the other routes and
// the pages, and malformed requests.
func TestFastServeMatchesNetHTTP(t *testing.T) {
	s := newService(t, nil)
	// The same server again on each HTTP stack, with registries of their
	// own (the metrics they export are compared below).
	regs := map[string]*prometheus.Registry{"fast": prometheus.NewRegistry(), "net/http": prometheus.NewRegistry()}
	serverOf := func(name string) *verifierapi.Server {
		cfg := s.cfg
		cfg.Registry, cfg.Gatherer, cfg.Stats = regs[name], regs[name], nil
		return verifierapi.New(cfg)
	}
	fast, std := serveFast(t, serverOf("fast")), serveNetHTTP(t, serverOf("net/http"))

	text := s.qr(t, 7)
	plain := `{"qr_text":"` + text + `"}`
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("image", "qr.png")
	fw.Write([]byte("not a png"))
	mw.Close()
	var big bytes.Buffer
	bw := multipart.NewWriter(&big)
	fw, _ = bw.CreateFormFile("image", "qr.png")
	fw.Write(bytes.Repeat([]byte{0}, verifierapi.DefaultMaxImage+100<<10))
	bw.Close()
	var large bytes.Buffer
	lw := multipart.NewWriter(&large)
	fw, _ = lw.CreateFormFile("image", "qr.png")
	fw.Write(bytes.Repeat([]byte{0}, verifierapi.DefaultMaxImage+10))
	lw.Close()
	cases := []struct {
		name string
		reqs []string
	}{
		{"native", []string{rawPost("/v1/verify", "application/json", plain), rawPost("/v1/verify", "", plain)}},
		{"native, repeated on one connection", []string{rawPost("/v1/verify", "application/json", plain), rawPost("/v1/verify", "application/json", plain), rawPost("/v1/verify", "application/json", plain)}},
		{"native, spaces and a line ending", []string{rawPost("/v1/verify", "application/json", ` {"qr_text":" `+text+`\r\n"} `)}},
		{"native, unverifiable text", []string{rawPost("/v1/verify", "application/json", `{"qr_text":"LC1:NOTBASE45"}`)}},
		{"native, request ID not a token", []string{strings.Replace(rawPost("/v1/verify", "application/json", plain), "X-Request-ID: req-1", "X-Request-ID: has space", 1)}},
		{"native, no request ID", []string{strings.Replace(rawPost("/v1/verify", "application/json", plain), "X-Request-ID: req-1\r\n", "", 1)}},
		{"escaped JSON", []string{rawPost("/v1/verify", "application/json", `{"qr_text":"`+strings.Replace(text, ":", `\u003a`, 1)+`"}`)}},
		{"unknown field", []string{rawPost("/v1/verify", "application/json", `{"qr_text":"`+text+`","x":1}`)}},
		{"empty text", []string{rawPost("/v1/verify", "application/json", `{"qr_text":" \r\n"}`)}},
		{"no text", []string{rawPost("/v1/verify", "application/json", `{}`)}},
		{"malformed JSON", []string{rawPost("/v1/verify", "application/json", `{"qr_text":`)}},
		{"empty body", []string{rawPost("/v1/verify", "application/json", ``)}},
		{"JSON with parameters", []string{rawPost("/v1/verify", "application/json; charset=utf-8", plain)}},
		{"text/plain", []string{rawPost("/v1/verify", "text/plain", plain)}},
		{"malformed content type", []string{rawPost("/v1/verify", "application/", plain)}},
		{"body too large", []string{rawPost("/v1/verify", "application/json", `{"qr_text":"`+strings.Repeat("A", 20<<10)+`"}`)}},
		{"body far too large", []string{rawPost("/v1/verify", "application/json", `{"qr_text":"`+strings.Repeat("A", 600<<10)+`"}`)}},
		{"chunked", []string{"POST /v1/verify HTTP/1.1\r\nHost: verifier.test\r\nX-Request-ID: req-1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(plain), plain)}},
		{"query", []string{rawPost("/v1/verify?x=1", "application/json", plain)}},
		{"HTTP/1.0", []string{strings.Replace(rawPost("/v1/verify", "application/json", plain), "HTTP/1.1", "HTTP/1.0", 1)}},
		{"Connection: close", []string{rawPost("/v1/verify", "application/json", plain, "Connection: close")}},
		{"no Host", []string{"POST /v1/verify HTTP/1.1\r\nContent-Type: application/json\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(plain)) + plain}},
		{"image, not a PNG", []string{rawPost("/v1/verify", mw.FormDataContentType(), mp.String())}},
		{"image too large", []string{rawPost("/v1/verify", lw.FormDataContentType(), large.String()), rawGet("/healthz")}},
		{"upload too large", []string{rawPost("/v1/verify", bw.FormDataContentType(), big.String()), rawGet("/healthz")}},
		{"batch too large", []string{rawPost("/v1/verify/batch", "application/json", `{"qr_texts":["`+strings.Repeat("A", 440<<10)+`"]}`), rawGet("/healthz")}},
		{"body too large, then another request", []string{rawPost("/v1/verify", "application/json", `{"qr_text":"`+strings.Repeat("A", 20<<10)+`"}`), rawGet("/healthz")}},
		{"Expect: 100-continue", []string{rawPost("/v1/verify", "application/json", plain, "Expect: 100-continue")}},
		{"multipart without boundary", []string{rawPost("/v1/verify", "multipart/form-data", "x")}},
		{"batch", []string{rawPost("/v1/verify/batch", "application/json", `{"qr_texts":["`+text+`","LC1:X"]}`)}},
		{"GET verify", []string{rawGet("/v1/verify")}},
		{"PUT verify", []string{strings.Replace(rawPost("/v1/verify", "application/json", plain), "POST", "PUT", 1)}},
		{"healthz", []string{rawGet("/healthz"), rawGet("/healthz")}},
		{"readyz", []string{rawGet("/readyz")}},
		{"openapi", []string{rawGet("/v1/openapi.yaml")}},
		{"not found", []string{rawGet("/nowhere"), rawGet("/v1/verify/")}},
		{"counter page", []string{rawGet("/counter")}},
		{"QR URL page", []string{rawGet("/V/" + neturl.PathEscape(strings.TrimPrefix(text, "LC1:")))}},
		{"absolute-form target", []string{"GET http://verifier.test/healthz HTTP/1.1\r\nHost: verifier.test\r\nX-Request-ID: req-1\r\n\r\n",
			strings.Replace(rawPost("/v1/verify", "application/json", plain), "POST /v1/verify", "POST http://verifier.test/v1/verify", 1)}},
		{"HEAD healthz", []string{"HEAD /healthz HTTP/1.1\r\nHost: verifier.test\r\nX-Request-ID: req-1\r\n\r\n"}},
		{"headers too large", []string{rawGet("/healthz", "X-Big: "+strings.Repeat("b", 40<<10))}},
		{"malformed request line", []string{"NOT HTTP\r\n\r\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := exchange(t, fast, c.reqs...), exchange(t, std, c.reqs...)
			if len(got) != len(want) {
				t.Fatalf("%d answers, net/http gives %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.status != w.status || g.closed != w.closed {
					t.Errorf("answer %d: status %d, closed %v; net/http: %d, %v", i, g.status, g.closed, w.status, w.closed)
				}
				if !headersEqual(g.header, w.header) {
					t.Errorf("answer %d: headers\n%v\nnet/http:\n%v", i, g.header, w.header)
				}
				if !bytes.Equal(g.body, w.body) {
					t.Errorf("answer %d: body\n%q\nnet/http:\n%q", i, g.body, w.body)
				}
			}
		})
	}
	// Both count the same requests and verifications.
	series := func(reg *prometheus.Registry) []string {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				var labels []string
				for _, l := range m.Label {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				v := m.GetCounter().GetValue()
				if h := m.GetHistogram(); h != nil {
					v = float64(h.GetSampleCount())
				}
				out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), v))
			}
		}
		slices.Sort(out)
		return out
	}
	if g, w := series(regs["fast"]), series(regs["net/http"]); !slices.Equal(g, w) {
		t.Errorf("metrics\n%s\nnet/http:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
