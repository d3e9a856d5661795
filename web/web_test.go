package web_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"elicence/web"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	scriptTag  = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineAttr = regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`)
	assetURL   = regexp.MustCompile(`(?:src|href)="(/static/[^"?]+)\?v=([0-9a-f]+)"`)
)

// TestPages checks every page of the all-in-one service: served with the
// security headers, no inline script or style that the policy would block,
// and every asset it names served under its version with long caching.
func TestPages(t *testing.T) {
	h := web.Handler(web.AllPages())
	// A QR URL opens the verification page; its text is any run of the
	// version-2 characters, $ * - . : included.
	for _, p := range []string{"/counter", "/wallet", "/verify", "/V/LC2:ZYJ$*-.:0"} {
		t.Run(p, func(t *testing.T) {
			r := get(t, h, "GET", p, nil)
			if r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			for k, want := range map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Content-Security-Policy": web.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-cache",
			} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			html := body(t, r)
			if !strings.Contains(html, `<html lang="zh-CN"`) {
				t.Error("page is not Chinese by default")
			}
			for _, tag := range scriptTag.FindAllString(html, -1) {
				if !strings.Contains(tag, `src="/static/`) {
					t.Errorf("inline or foreign script %s", tag)
				}
			}
			if m := inlineAttr.FindString(html); m != "" {
				t.Errorf("inline handler or style attribute %q is blocked by the policy", m)
			}
			if !strings.Contains(html, `aria-live=`) {
				t.Error("no live region")
			}
			urls := assetURL.FindAllStringSubmatch(html, -1)
			if len(urls) < 3 {
				t.Fatalf("only %d versioned assets in the page", len(urls))
			}
			for _, u := range urls {
				a := get(t, h, "GET", u[1]+"?v="+u[2], nil)
				if a.StatusCode != 200 {
					t.Errorf("%s: status %d", u[1], a.StatusCode)
				}
				if cc := a.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
					t.Errorf("%s: Cache-Control %q, want immutable for its version", u[1], cc)
				}
				if a.Header.Get("Content-Security-Policy") == "" {
					t.Errorf("%s: no policy", u[1])
				}
			}
		})
	}
}

func TestAssetCaching(t *testing.T) {
	h := web.Handler(web.AllPages())
	r := get(t, h, "GET", "/static/app.css", nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("unversioned asset: status %d, Cache-Control %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	etag := r.Header.Get("ETag")
	r = get(t, h, "GET", "/static/app.css", map[string]string{"If-None-Match": etag})
	if r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, r.StatusCode)
	}
	r = get(t, h, "HEAD", "/counter", nil)
	if r.StatusCode != 200 || body(t, r) != "" {
		t.Errorf("HEAD: status %d", r.StatusCode)
	}
	if r := get(t, h, "POST", "/counter", nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", r.StatusCode)
	}
	for _, p := range []string{"/static/layout.tmpl", "/static/counter.html", "/static/nope.js", "/", "/counterx"} {
		if r := get(t, h, "GET", p, nil); r.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, r.StatusCode)
		}
	}
}

// TestVerifierPages checks that the verifier service, which has no wallet
// API, serves no wallet page and links to none.
func TestVerifierPages(t *testing.T) {
	cfg := web.VerifierPages()
	h := web.Handler(cfg)
	if r := get(t, h, "GET", "/wallet", nil); r.StatusCode != 404 {
		t.Errorf("/wallet: status %d, want 404", r.StatusCode)
	}
	r := get(t, h, "GET", "/counter", nil)
	if r.StatusCode != 200 {
		t.Fatalf("/counter: status %d", r.StatusCode)
	}
	if strings.Contains(body(t, r), `href="/wallet"`) {
		t.Error("the counter page links to a wallet the service does not have")
	}
	if got, want := cfg.Paths(), []string{"/counter", "/verify", "/V/", "/static/"}; !slices.Equal(got, want) {
		t.Errorf("Paths() = %q, want %q", got, want)
	}
}

// TestWrap checks that wrapped pages sit beside an API that keeps every
// other path.
func TestWrap(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-API", "yes")
		http.Error(w, "api", http.StatusTeapot)
	})
	h := web.VerifierPages().Wrap(api)
	for p, want := range map[string]int{
		"/counter": 200, "/verify": 200, "/counter/": 200, "/wallet": http.StatusTeapot,
		"/v1/verify": http.StatusTeapot, "/healthz": http.StatusTeapot, "/": http.StatusTeapot,
	} {
		r := get(t, h, "GET", p, nil)
		if r.StatusCode != want {
			t.Errorf("%s: status %d, want %d", p, r.StatusCode, want)
		}
	}
	r := get(t, h, "GET", "/counter", nil)
	if r.Header.Get("X-API") != "" || !strings.Contains(body(t, r), `id="scan"`) {
		t.Error("/counter is not the counter page")
	}
}

var (
	i18nKey = regexp.MustCompile(`(?m)^\s+'([\w.]+)': '((?:[^'\\]|\\.)*)',?$`)
	// A language's block in messages, or a block added to it later with
	// Object.assign(messages.zh, {...}).
	i18nBlock      = regexp.MustCompile(`(?s)\n(?:  (zh|en): \{|Object\.assign\(messages\.(zh|en), \{)(.*?)\n(?:  \},|\}\);)`)
	markupKey      = regexp.MustCompile(`data-i18n="([\w.]+)"|data-i18n-attr="([^"]+)"`)
	literalKey     = regexp.MustCompile(`'([a-z][\w]*\.[\w.]+)'`)
	templateKey    = regexp.MustCompile("\\bt\\(`([\\w.]*)\\$\\{")
	placeholder    = regexp.MustCompile(`\{\w+\}`)
	subConst       = regexp.MustCompile(`SubIndication = "([A-Z_]+)"`)
	jsTableKey     = regexp.MustCompile(`(?m)^\s+([A-Z_]+): '`)
	rescindReasons = regexp.MustCompile(`RescindReasons\s*=\s*\[\]string\{([^}]*)\}`)
	reasonCodes    = regexp.MustCompile(`(?s)(Revocation|Suspension)Reasons\s*=\s*\[\]string\{([^}]*)\}`)
)

// messageTable reads the messages of both languages from i18n.js.
func messageTable(t *testing.T) map[string]map[string]string {
	t.Helper()
	src, err := os.ReadFile("static/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	langs := map[string]map[string]string{}
	for _, m := range i18nBlock.FindAllStringSubmatch(string(src), -1) {
		lang := m[1] + m[2]
		if langs[lang] == nil {
			langs[lang] = map[string]string{}
		}
		for _, k := range i18nKey.FindAllStringSubmatch(m[3], -1) {
			langs[lang][k[1]] = k[2]
		}
	}
	if len(langs["zh"]) < 50 || len(langs["en"]) < 50 {
		t.Fatalf("read %d zh and %d en messages from i18n.js; the test no longer parses it", len(langs["zh"]), len(langs["en"]))
	}
	return langs
}

// dynamicKeys are the message keys the pages build from data, by the
// prefix of their template literal. A new one must be listed here, and
// every key it can make then exists in both languages. The verdict card's
// own dynamic keys are listed by verdict.js messageKeys(), which
// TestDocumentPages checks in Chromium.
var dynamicKeys = map[string][]string{
	"wallet.status.": {"valid", "revoked", "suspended", "expired"},
	"wallet.state.":  {"valid", "revoked", "suspended", "expired"},
	"unreadable.":    nil, // verdict.js messageKeys()
	"codeKindShort.": nil, // verdict.js messageKeys()
}

// TestMessages walks every message key the pages use (in markup, in
// quoted literals of the scripts, and built from data) and fails on one
// missing in either language; both languages must also have the same
// messages with the same {placeholders}. Every sub-indication the verifier
// can report, and every revocation and suspension reason code the issuer
// accepts, has words on the card.
func TestMessages(t *testing.T) {
	langs := messageTable(t)
	zh, en := langs["zh"], langs["en"]
	for k, v := range zh {
		w, ok := en[k]
		switch {
		case !ok:
			t.Errorf("message %q is missing in English", k)
		case strings.TrimSpace(v) == "" || strings.TrimSpace(w) == "":
			t.Errorf("message %q is empty in a language", k)
		case !slices.Equal(sortedPlaceholders(v), sortedPlaceholders(w)):
			t.Errorf("message %q: placeholders %v in Chinese, %v in English", k, sortedPlaceholders(v), sortedPlaceholders(w))
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("message %q is missing in Chinese", k)
		}
	}
	namespaces := map[string]bool{}
	for k := range zh {
		namespaces[strings.SplitN(k, ".", 2)[0]] = true
	}
	need := func(where, k string) {
		t.Helper()
		for _, l := range []string{"zh", "en"} {
			if _, ok := langs[l][k]; !ok {
				t.Errorf("%s uses message %q, which i18n.js lacks in %s", where, k, l)
			}
		}
	}
	files, _ := filepath.Glob("static/*.html")
	js, _ := filepath.Glob("static/*.js")
	tmpl, _ := filepath.Glob("static/*.tmpl")
	used := 0
	for _, f := range slices.Concat(files, js, tmpl) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range markupKey.FindAllStringSubmatch(src, -1) {
			if m[1] != "" {
				need(f, m[1])
				used++
			}
			for _, pair := range strings.Split(m[2], ";") {
				if _, k, ok := strings.Cut(pair, ":"); ok {
					need(f, k)
					used++
				}
			}
		}
		if !strings.HasSuffix(f, ".js") || strings.HasSuffix(f, "i18n.js") {
			continue
		}
		// A quoted literal in a message namespace is a key: a table entry
		// or a t('…') call alike.
		for _, m := range literalKey.FindAllStringSubmatch(src, -1) {
			if ns := strings.SplitN(m[1], ".", 2)[0]; namespaces[ns] && !strings.HasSuffix(m[1], ".js") {
				need(f, m[1])
				used++
			}
		}
		for _, m := range templateKey.FindAllStringSubmatch(src, -1) {
			suffixes, ok := dynamicKeys[m[1]]
			if !ok {
				t.Errorf("%s builds message keys from data with prefix %q; list the keys it can make in dynamicKeys", f, m[1])
			}
			for _, s := range suffixes {
				need(f, m[1]+s)
			}
		}
	}
	if used < 50 {
		t.Fatalf("found only %d message uses in the pages; the walk no longer reads them", used)
	}

	// Every sub-indication the verifier reports has words on the card:
	// a reason for a licence that was read, or a cause for unreadable input.
	report, err := os.ReadFile("../verifier/report.go")
	if err != nil {
		t.Fatal(err)
	}
	verdictJS, err := os.ReadFile("static/verdict.js")
	if err != nil {
		t.Fatal(err)
	}
	worded := map[string]bool{}
	for _, m := range jsTableKey.FindAllStringSubmatch(string(verdictJS), -1) {
		worded[m[1]] = true
	}
	subs := subConst.FindAllStringSubmatch(string(report), -1)
	if len(subs) < 20 {
		t.Fatalf("read only %d sub-indications from verifier/report.go", len(subs))
	}
	for _, m := range subs {
		if !worded[m[1]] {
			t.Errorf("verdict.js has no words for sub-indication %s (reasonKeys or unreadableSubs)", m[1])
		}
	}
	// Every reason code the issuer accepts has its word.
	issue, err := os.ReadFile("../issuer/licences_issue.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := reasonCodes.FindAllStringSubmatch(string(issue), -1)
	if len(codes) != 2 {
		t.Fatalf("read %d reason-code lists from issuer/licences_issue.go, want 2", len(codes))
	}
	// And every reason a document's rescission takes, worded as a
	// document's (已撤回), not a licence's.
	docs, err := os.ReadFile("../issuer/documents_sign.go")
	if err != nil {
		t.Fatal(err)
	}
	rescind := rescindReasons.FindStringSubmatch(string(docs))
	if rescind == nil {
		t.Fatal("read no RescindReasons from issuer/documents_sign.go")
	}
	for _, code := range strings.Split(strings.ReplaceAll(rescind[1], `"`, ""), ",") {
		need("verdict.js docStatusWords", "docStatus."+strings.TrimSpace(code))
	}
	for _, m := range codes {
		status := map[string]string{"Revocation": "revoked", "Suspension": "suspended"}[m[1]]
		list := strings.Split(strings.ReplaceAll(m[2], `"`, ""), ",")
		if status == "revoked" {
			list = append(list, "superseded") // store.ReasonSuperseded
		}
		for _, code := range list {
			need("verdict.js statusWords", "status."+status+"."+strings.TrimSpace(code))
		}
	}
}

func sortedPlaceholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

// TestVendored checks that the vendored library is byte for byte the file
// web/README.md names, with its licence beside it.
func TestVendored(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("static/vendor/qrcode-generator-2.0.4.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if !strings.Contains(string(readme), hex.EncodeToString(sum[:])) {
		t.Errorf("web/README.md does not record the SHA-256 %x of the vendored qrcode-generator", sum)
	}
	if _, err := os.Stat("static/vendor/qrcode-generator.LICENSE"); err != nil {
		t.Error(err)
	}
}

// TestQRURLRequestLine sends the request line a phone sends for a QR URL,
// every version-2 character in its path, to the pages mounted on a chi
// router as the services mount them: Go's net/http and chi deliver the
// path unchanged and the verification page answers.
func TestQRURLRequestLine(t *testing.T) {
	r := chi.NewRouter()
	h := web.Handler(web.AllPages())
	for _, p := range web.AllPages().Paths() {
		if strings.HasSuffix(p, "/") {
			p += "*"
		}
		r.Handle(p, h)
	}
	var seen string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		seen = req.URL.Path
		r.ServeHTTP(w, req)
	}))
	defer srv.Close()
	const text = "LC2:0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*-.:"
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /V/%s HTTP/1.1\r\nHost: YZM.ZWFW.FUJIAN.GOV.CN\r\nConnection: close\r\n\r\n", text)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if seen != "/V/"+text {
		t.Errorf("net/http gave the path %q, want %q", seen, "/V/"+text)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(b), `id="verify-form"`) {
		t.Fatalf("GET /V/<text>: %d, want the verification page", resp.StatusCode)
	}
	// A path with a further segment is no QR URL of ours.
	if r := get(t, h, "GET", "/V/LC2:AB/CD", nil); r.StatusCode != 404 {
		t.Errorf("/V/LC2:AB/CD: status %d, want 404", r.StatusCode)
	}
}
