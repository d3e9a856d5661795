// Package web serves the browser pages of elicence, embedded in the binary:
// the counter page (窗口核验, /counter) where a clerk scans a QR code with a
// handheld scanner or a webcam, the citizen's wallet (亮证, /wallet) with a
// dynamic QR that refreshes itself, and the public verification page
// (/verify) that a phone's camera opens from a QR URL: /V/<QR text>
// (docs/FORMAT.md §4.2) serves the same page, which reads the text back
// from its own path.
//
// The pages are plain HTML, CSS and JavaScript under static/ with no build
// step; they talk only to the JSON API of the same origin (POST /v1/verify,
// POST /v1/verify/document, /v1/wallet/..., GET /v1/departments). [Handler] serves them with a strict
// Content-Security-Policy: no inline script, no third-party origin. The one
// vendored library, qrcode-generator, draws QR codes in the browser so that
// an offline phone can still show the static code it holds in memory; the
// counter's webcam frames are decoded on the server by POST /v1/verify.
//
// The wallet is an installable web app (static/wallet.webmanifest and the
// service worker /wallet-sw.js, which keeps the page and its assets for
// offline use). Its licences stay on the holder's phone: the session and
// the last list of licences (with their static QR texts) are in
// localStorage until the holder signs out, so that the page opens with no
// network and shows the static code. The counter and verify pages keep
// nothing personal: the counter's recent scans live in memory only, and
// the language choice (中文 / English) is all they store.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"elicence/api"
	"elicence/format"
)

//go:embed static
var static embed.FS

// Config says which pages a service serves and the pages' defaults.
type Config struct {
	// Counter serves /counter, the counter clerk's page.
	Counter bool
	// Wallet serves /wallet, the citizen's page; only a service with the
	// wallet API (elicence serve, issuer serve) should set it.
	Wallet bool
	// Verify serves /verify, the public verification page, also at
	// /V/<QR text>, where QR URLs open it.
	Verify bool
	// ScanInterval is how often the counter page sends a webcam frame to
	// POST /v1/verify while no QR code is found; zero means 500 ms.
	ScanInterval time.Duration
	// VerifyTimeout is how long the counter and verification pages wait for
	// POST /v1/verify before they show the amber 无法确定 card with a retry
	// button and drop the request; zero means DefaultVerifyTimeout.
	VerifyTimeout time.Duration
	// MaxDocument is the largest upload POST /v1/verify/document takes
	// (the whole multipart body, as verifierapi.Config.MaxDocument); the
	// pages state it and refuse a larger file before sending a byte. Zero
	// means api.DefaultMaxDocument, the API's own default.
	MaxDocument int64
}

// DefaultVerifyTimeout is the pages' deadline for one verification. A
// verification on the same network answers in tens of milliseconds, and a
// verifier with a cold cache fetches a trust list and a status list first;
// five seconds leaves room for that and is still short enough that a clerk
// never waits on a hung server.
const DefaultVerifyTimeout = 5 * time.Second

// AllPages is the configuration of the all-in-one service.
func AllPages() Config { return Config{Counter: true, Wallet: true, Verify: true} }

// VerifierPages is the configuration of the stateless verifier service,
// which has no wallet.
func VerifierPages() Config { return Config{Counter: true, Verify: true} }

// ContentSecurityPolicy is sent with every page and asset: scripts and
// styles only from this origin, API calls only to this origin, QR codes
// drawn on canvases, webcam frames as blobs.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body    []byte
	ctype   string
	etag    string
	version string // short content hash, the ?v= of its URL
}

type handler struct {
	cfg    Config
	assets map[string]*asset // by name under static/
	pages  map[string]*asset // by URL path
}

// page is what the HTML templates are given.
type page struct {
	Pages         Config
	ScanInterval  int64 // milliseconds
	VerifyTimeout int64 // milliseconds
	MaxDocument   int64 // bytes
	assets        map[string]*asset
}

// Asset returns the versioned URL of a static file, so that browsers may
// cache it for a year and still see a new binary's files at once.
func (p page) Asset(name string) (string, error) {
	a := p.assets[name]
	if a == nil {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return "/static/" + name + "?v=" + a.version, nil
}

var pageFiles = map[string]string{
	"/counter": "counter.html",
	"/wallet":  "wallet.html",
	"/verify":  "verify.html",
}

// Handler returns the handler of the pages cfg names and of /static/. It
// panics if an embedded template is broken, which a test catches.
func Handler(cfg Config) http.Handler {
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = 500 * time.Millisecond
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = DefaultVerifyTimeout
	}
	if cfg.MaxDocument <= 0 {
		cfg.MaxDocument = api.DefaultMaxDocument
	}
	h := &handler{cfg: cfg, assets: map[string]*asset{}, pages: map[string]*asset{}}

	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".tmpl") {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		h.assets[strings.TrimPrefix(p, "static/")] = newAsset(b, contentType(p))
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("web: read embedded files: %v", err))
	}
	data := page{Pages: cfg, ScanInterval: cfg.ScanInterval.Milliseconds(), VerifyTimeout: cfg.VerifyTimeout.Milliseconds(), MaxDocument: cfg.MaxDocument, assets: h.assets}
	for urlPath, file := range pageFiles {
		if !h.serves(urlPath) {
			continue
		}
		t, err := template.ParseFS(static, "static/layout.tmpl", "static/verdict.tmpl", "static/document.tmpl", "static/"+file)
		if err != nil {
			panic(fmt.Sprintf("web: parse %s: %v", file, err))
		}
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
			panic(fmt.Sprintf("web: render %s: %v", file, err))
		}
		h.pages[urlPath] = newAsset(b.Bytes(), "text/html; charset=utf-8")
	}
	if cfg.Wallet {
		h.pages[serviceWorkerPath] = h.serviceWorker()
	}
	return h
}

// serviceWorkerPath is the wallet's service worker, at the top so that its
// scope may be /wallet.
const serviceWorkerPath = "/wallet-sw.js"

// serviceWorker returns static/sw.js preceded by the list of what it
// keeps for offline use: the wallet page and every asset, by versioned
// and plain URL (modules import each other by plain URL), under a cache
// name that changes with any of them.
func (h *handler) serviceWorker() *asset {
	names := make([]string, 0, len(h.assets))
	for n := range h.assets {
		if n != "sw.js" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	urls := []string{"/wallet"}
	sum := sha256.New()
	sum.Write(h.pages["/wallet"].body)
	for _, n := range names {
		a := h.assets[n]
		urls = append(urls, "/static/"+n+"?v="+a.version, "/static/"+n)
		sum.Write([]byte(n + a.version))
	}
	list, _ := json.Marshal(urls)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Generated by the server: what the wallet keeps for offline use.\nconst CACHE = 'elicence-wallet-%x';\nconst PRECACHE = %s;\n\n", sum.Sum(nil)[:8], list)
	b.Write(h.assets["sw.js"].body)
	return newAsset(b.Bytes(), "text/javascript; charset=utf-8")
}

func (h *handler) serves(urlPath string) bool {
	switch urlPath {
	case serviceWorkerPath:
		return h.cfg.Wallet
	case "/counter":
		return h.cfg.Counter
	case "/wallet":
		return h.cfg.Wallet
	case "/verify":
		return h.cfg.Verify
	}
	return false
}

func newAsset(b []byte, ctype string) *asset {
	sum := sha256.Sum256(b)
	v := hex.EncodeToString(sum[:8])
	return &asset{body: b, ctype: ctype, etag: `"` + v + `"`, version: v}
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".json", ".webmanifest":
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

// Paths lists the URL paths the handler answers, for mounting it on a
// router: the pages it serves and the /static/ prefix.
func (cfg Config) Paths() []string {
	var ps []string
	for _, p := range []string{"/counter", "/verify", "/wallet", serviceWorkerPath} {
		if (&handler{cfg: cfg}).serves(p) {
			ps = append(ps, p)
		}
	}
	if cfg.Verify {
		ps = append(ps, format.URLPath)
	}
	return append(ps, "/static/")
}

// Wrap returns a handler that serves the pages of cfg (and /static/) and
// passes every other request to next, e.g. a service's API:
//
//	h = web.VerifierPages().Wrap(verifierapi.New(cfg))
func (cfg Config) Wrap(next http.Handler) http.Handler {
	pages := Handler(cfg)
	mux := http.NewServeMux()
	mux.Handle("/", next)
	for _, p := range cfg.Paths() {
		mux.Handle(p, pages)
		if !strings.HasSuffix(p, "/") {
			mux.Handle(p+"/", pages)
		}
	}
	return mux
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// The verify page may carry a QR text in its URL: never send it on.
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var a *asset
	if name, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok {
		a = h.assets[name]
		if a != nil {
			if r.URL.Query().Get("v") == a.version {
				hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				hdr.Set("Cache-Control", "no-cache")
			}
		}
	} else if text, ok := strings.CutPrefix(r.URL.Path, format.URLPath); ok && h.cfg.Verify && text != "" && !strings.Contains(text, "/") {
		// A QR URL: the verification page, which reads the text from its
		// path. The text never reaches a log line or another site.
		a = h.pages["/verify"]
		hdr.Set("Cache-Control", "no-cache")
	} else if a = h.pages[strings.TrimSuffix(r.URL.Path, "/")]; a != nil {
		// Pages are small and name their assets by version: revalidate.
		// The service worker too, so that a new binary's reaches phones.
		hdr.Set("Cache-Control", "no-cache")
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("ETag", a.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
