package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	for _, p := range []string{"/counter", "/wallet", "/verify"} {
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
	if got, want := cfg.Paths(), []string{"/counter", "/verify", "/static/"}; !slices.Equal(got, want) {
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
	i18nKey = regexp.MustCompile(`(?m)^\s+'([\w.]+)':`)
	usedKey = regexp.MustCompile(`data-i18n="([\w.]+)"|data-i18n-attr="[\w-]+:([\w.]+)"|\bt\('([\w.]+)'`)
	// A language's block in messages, or a block added to it later with
	// Object.assign(messages.zh, {...}).
	i18nBlock = regexp.MustCompile(`(?s)\n(?:  (zh|en): \{|Object\.assign\(messages\.(zh|en), \{)(.*?)\n(?:  \},|\}\);)`)
)

// TestMessages checks that both languages have the same messages and that
// every message the pages use exists.
func TestMessages(t *testing.T) {
	src, err := os.ReadFile("static/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, m := range i18nBlock.FindAllStringSubmatch(string(src), -1) {
		for _, k := range i18nKey.FindAllStringSubmatch(m[3], -1) {
			keys[m[1]+m[2]] = append(keys[m[1]+m[2]], k[1])
		}
	}
	zh, en := keys["zh"], keys["en"]
	if len(zh) < 50 || !slices.Equal(zh, en) {
		t.Fatalf("zh has %d messages, en %d; they must match one for one", len(zh), len(en))
	}
	files, _ := filepath.Glob("static/*.html")
	js, _ := filepath.Glob("static/*.js")
	tmpl, _ := filepath.Glob("static/*.tmpl")
	for _, f := range slices.Concat(files, js, tmpl) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range usedKey.FindAllStringSubmatch(string(b), -1) {
			k := m[1] + m[2] + m[3]
			if !slices.Contains(zh, k) {
				t.Errorf("%s uses message %q, which i18n.js does not have", f, k)
			}
		}
	}
	// Every sub-indication the verifier reports has words for people.
	for _, sub := range []string{"UNSUPPORTED_FORMAT", "ENCODING_FAILURE", "FORMAT_FAILURE", "TRAILING_DATA",
		"NON_CANONICAL", "INPUT_TOO_LARGE", "UNKNOWN_ISSUER", "UNKNOWN_KEY", "SIG_CRYPTO_FAILURE",
		"KEY_COMPROMISED", "KEY_RETIRED", "TYPE_NOT_AUTHORISED", "NOT_YET_VALID", "EXPIRED",
		"PRESENTATION_NOT_YET_VALID", "PRESENTATION_EXPIRED", "FUTURE_DATED", "LIFETIME_TOO_LONG", "ANNOTATION_EXPIRED",
		"WRONG_RELYING_DEPARTMENT", "REVOKED", "SUSPENDED", "HASH_FAILURE", "TRY_LATER", "STATUS_UNKNOWN"} {
		if !slices.Contains(zh, "reason."+sub) {
			t.Errorf("no reason message for %s", sub)
		}
	}
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
