package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"elicence/cli"
	"elicence/internal/oidctest"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/keys"
	"elicence/web"
)

// TestWalletOffline proves, at 390×844 on a phone: the wallet installs its
// service worker and keeps the licences on the phone; reloaded with no
// network it shows the licence last shown with its static QR above the
// fold and says the code is offline, not the browser's error page, and
// still does so with no server at all; a revoked (and a suspended) licence shows its state
// in Chinese and English in its own colour, offers no code and no
// annotated copy, and the page does not scroll sideways. With
// UPDATE_SCREENSHOTS=1 it writes the wallet's screenshots.
func TestWalletOffline(t *testing.T) {
	chromiumPath(t)
	sys := startSystem(t, presentationTTL)
	shots := screenshotDir(t)
	holder := usccFor(t, "91350102MA2Y7K8L4")
	biz := sys.issue(t, map[string]any{
		"type": sys.businessType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
		"valid_from": "2024-03-01", "valid_until": "2044-02-28",
		"fields": map[string]string{"lr": "林晓燕", "ra": "福州市鼓楼区五四路 100 号", "et": "有限责任公司"},
	})
	food := sys.issue(t, map[string]any{
		"type": sys.foodType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
		"valid_from": "2024-03-01",
		"fields":     map[string]string{"pn": "JY13501020012345", "ba": "福州市鼓楼区五四路 100 号一层"},
	})
	sys.revoke(t, food.ID, "penalty")
	paused := sys.issue(t, map[string]any{
		"type": sys.foodType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
		"valid_from": "2024-03-01",
		"fields":     map[string]string{"pn": "JY13501020012346", "ba": "福州市鼓楼区五四路 100 号二层"},
	})
	sys.call(t, "POST", "/v1/licences/"+paused.ID+"/suspend", sys.token, map[string]string{"reason": "investigation"}, nil, http.StatusOK)

	b := newBrowser(t)
	b.do(t, "sign in with the holder link", 20*time.Second,
		viewport(390, 844, true),
		chromedp.Navigate(sys.URL+sys.holderLink(t, holder)),
		chromedp.WaitVisible(chromedp.CSS("#cards .licence-card")),
		// The service worker controls the page once it has kept it.
		waitFor(`navigator.serviceWorker.controller !== null`, 15*time.Second),
	)
	if s := eval[string](t, b, `Object.keys(localStorage).sort().join()`); !strings.Contains(s, "elicence.wallet.licences") || !strings.Contains(s, "elicence.wallet.session") {
		t.Errorf("localStorage keys %q: want the session and the licences kept on the phone", s)
	}
	if m := eval[string](t, b, `document.querySelector('link[rel=manifest]').href`); !strings.Contains(m, "wallet.webmanifest") {
		t.Errorf("manifest link %q", m)
	}

	// The revoked licence: its own words and colour, nothing to show.
	b.do(t, "open the revoked licence", 10*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, food.ID))),
		waitFor(`!document.getElementById('state-panel').hidden`, 5*time.Second),
		noSidewaysScroll(),
	)
	state := eval[map[string]any](t, b, `({
		word: document.getElementById('state-word').textContent,
		text: document.getElementById('state-text').textContent,
		qr: !document.getElementById('show-qr').hidden,
		annotate: !document.getElementById('annotate').hidden,
		bg: getComputedStyle(document.querySelector('#show-view .licence-card')).backgroundImage,
		status: document.querySelector('#show-view .licence-card').dataset.status,
		lid: document.querySelector('#show-view .card-lid').textContent})`)
	if state["word"] != "已吊销" || state["qr"] != false || state["annotate"] != false || state["status"] != "revoked" {
		t.Errorf("revoked licence shows %v; want 已吊销, no QR, no 生成加注件", state)
	}
	if !strings.Contains(state["lid"].(string), food.ID) || !strings.Contains(state["text"].(string), "不能出示") {
		t.Errorf("revoked licence text %v", state)
	}
	valid := eval[string](t, b, `(() => { const d = document.createElement('div'); d.className = 'licence-card'; document.body.append(d); const s = getComputedStyle(d).backgroundImage; d.remove(); return s; })()`)
	if state["bg"] == valid {
		t.Errorf("the revoked card has the valid card's colours %v", valid)
	}
	b.do(t, "screenshot the revoked licence", 10*time.Second, screenshot(t, shots, "wallet-revoked-390x844.png"))
	b.do(t, "English", 10*time.Second,
		chromedp.Click(chromedp.CSS("#lang-toggle")),
		waitFor(`document.getElementById('state-word').textContent === 'Revoked as a penalty'`, 5*time.Second),
		noSidewaysScroll(),
		chromedp.Click(chromedp.CSS("#lang-toggle")),
		waitFor(`document.getElementById('state-word').textContent === '已吊销'`, 5*time.Second),
		chromedp.Click(chromedp.CSS("#back")),
		chromedp.WaitVisible(chromedp.CSS("#cards")),
	)
	if badge := eval[string](t, b, fmt.Sprintf(`document.querySelector('#cards .licence-card[data-id=%q] .badge').textContent`, food.ID)); badge != "已吊销" {
		t.Errorf("the revoked card's badge says %q", badge)
	}
	// The suspended one: its own word and colour, nothing to show either.
	b.do(t, "open the suspended licence", 10*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, paused.ID))),
		waitFor(`!document.getElementById('state-panel').hidden`, 5*time.Second),
		noSidewaysScroll(),
	)
	sus := eval[map[string]any](t, b, `({word: document.getElementById('state-word').textContent,
		qr: !document.getElementById('show-qr').hidden, annotate: !document.getElementById('annotate').hidden,
		bg: getComputedStyle(document.querySelector('#show-view .licence-card')).backgroundImage})`)
	if sus["word"] != "已暂停使用（核查中）" || sus["qr"] != false || sus["annotate"] != false || sus["bg"] == state["bg"] || sus["bg"] == valid {
		t.Errorf("suspended licence shows %v; want 已暂停使用（核查中） in its own colour, no QR, no 生成加注件", sus)
	}
	b.do(t, "back", 5*time.Second, chromedp.Click(chromedp.CSS("#back")), chromedp.WaitVisible(chromedp.CSS("#cards")))
	b.do(t, "screenshot the list", 10*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), screenshot(t, shots, "wallet-list-390x844.png"))

	// The valid licence, then the network goes away and the page reloads.
	b.do(t, "show the business licence", 20*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, biz.ID))),
		waitFor(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 10*time.Second),
	)
	aboveFold(t, b)
	checkOffline := func(what string) {
		t.Helper()
		b.do(t, what, 20*time.Second,
			chromedp.Reload(),
			waitFor(`document.getElementById('qr') && (document.getElementById('qr').dataset.qrText || '').includes('/V/LC2:')`, 15*time.Second),
		)
		got := eval[map[string]any](t, b, `({banner: document.getElementById('offline-banner').hidden ? '' : document.getElementById('offline-banner').textContent,
			text: document.getElementById('qr').dataset.qrText, svg: !!document.querySelector('#qr svg'),
			kind: document.getElementById('qr-kind').textContent})`)
		if got["kind"] != "离线 · 静态码" {
			t.Errorf("%s: the code is labelled %q, want it said to be offline", what, got["kind"])
		}
		if !strings.Contains(got["banner"].(string), "静态码，仅限离线出示") || !strings.Contains(got["banner"].(string), "无网络") {
			t.Errorf("%s: offline banner %q", what, got["banner"])
		}
		if got["text"] != biz.QRText || got["svg"] != true {
			t.Errorf("%s: the static QR is %v, want the licence's own code drawn", what, got)
		}
		aboveFold(t, b)
	}
	b.do(t, "go offline", 5*time.Second, offline(true))
	checkOffline("reload with no network")
	b.do(t, "screenshot offline", 10*time.Second, screenshot(t, shots, "wallet-offline-390x844.png"))
	b.do(t, "the list offline", 10*time.Second,
		chromedp.Click(chromedp.CSS("#back")),
		waitFor(`!document.getElementById('offline-note').hidden && document.querySelectorAll('#cards .licence-card').length === 3`, 5*time.Second),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, biz.ID))),
		waitFor(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LC2:')`, 5*time.Second),
	)
	// No server at all: the page still comes from the phone.
	sys.stop()
	checkOffline("reload with the server gone")
	if p := b.logs.problems(); len(p) > 0 {
		t.Errorf("the wallet logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// aboveFold fails unless the whole QR code is in the viewport.
func aboveFold(t *testing.T, b *browser) {
	t.Helper()
	if r := eval[[]float64](t, b, `(() => { const r = document.getElementById('qr').getBoundingClientRect(); return [r.top, r.bottom, innerHeight, r.width]; })()`); r[0] < 0 || r[1] > r[2] || r[3] < 200 {
		t.Errorf("the QR code spans %v–%v px of a %v px viewport, %v px wide: want it whole above the fold", r[0], r[1], r[2], r[3])
	} else {
		t.Logf("the QR code spans %.0f–%.0f px of a %.0f px viewport, %.0f px wide", r[0], r[1], r[2], r[3])
	}
}

// freeAddr returns a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestWalletOIDC signs in through a real OpenID Connect provider
// (zitadel's example provider) in Chromium: the wallet page offers the
// sign-in, the provider's login form takes the password, and the wallet
// lists the holder's licences with the identity provider's scope.
func TestWalletOIDC(t *testing.T) {
	chromiumPath(t)
	addr := freeAddr(t)
	redirect := "http://" + addr + "/v1/wallet/oidc/callback"
	holder := usccFor(t, "91350102MA2Y7K8L4")
	prov := oidctest.Start(t, "id_number", []string{redirect},
		oidctest.User{Username: "lin", Password: "correct horse battery", Name: "福州榕城数字科技有限公司", HolderID: holder})
	secret := t.TempDir() + "/oidc-secret"
	if err := writeFile(secret, prov.ClientSecret+"\n"); err != nil {
		t.Fatal(err)
	}
	sys := startSystem(t, presentationTTL, "--addr", addr, "--oidc-issuer", prov.Issuer, "--oidc-client-id", prov.ClientID,
		"--oidc-client-secret-file", secret, "--oidc-redirect-url", redirect)
	biz := sys.issue(t, map[string]any{
		"type": sys.businessType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
		"valid_from": "2024-03-01", "valid_until": "2044-02-28",
		"fields": map[string]string{"lr": "林晓燕", "ra": "福州市鼓楼区五四路 100 号", "et": "有限责任公司"},
	})
	b := newBrowser(t)
	b.do(t, "open the wallet signed out", 20*time.Second,
		viewport(390, 844, true),
		chromedp.Navigate(sys.URL+"/wallet"),
		waitFor(`!document.getElementById('signin-oidc-wrap').hidden`, 10*time.Second),
	)
	if text := eval[string](t, b, `document.getElementById('signin-oidc').textContent`); text != "使用统一身份认证登录" {
		t.Errorf("sign-in button %q", text)
	}
	b.do(t, "sign in at the provider", 30*time.Second,
		chromedp.Click(chromedp.CSS("#signin-oidc")),
		chromedp.WaitVisible(chromedp.CSS("input[name=password]")),
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), "lin"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), "correct horse battery"),
		chromedp.Submit(chromedp.CSS("input[name=password]")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, biz.ID))),
	)
	got := eval[map[string]string](t, b, `({url: location.href, hint: document.getElementById('scope-hint').textContent,
		via: JSON.parse(localStorage.getItem('elicence.wallet.session')).via})`)
	if !strings.HasSuffix(got["url"], "/wallet") || got["via"] != "oidc" || !strings.Contains(got["hint"], "统一身份认证") {
		t.Errorf("after the provider's sign-in: %v", got)
	}
	b.do(t, "show the licence", 20*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, biz.ID))),
		waitFor(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 10*time.Second),
	)
	// The annotated copy's form states its limits and words each error.
	b.do(t, "open the annotated copy form", 20*time.Second, chromedp.Click(chromedp.CSS("#annotate summary")))
	b.do(t, "annotated copy beyond 90 days", 20*time.Second,
		waitFor(`document.querySelectorAll('#relying option').length > 1`, 10*time.Second),
		chromedp.SetValue(chromedp.CSS("#relying"), sys.relyingDept),
		chromedp.SendKeys(chromedp.CSS("#purpose"), "办理企业银行开户"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('expiry').value = (() => { const d = new Date(Date.now() + 120 * 86400000); return d.toISOString().slice(0, 10); })()`),
		chromedp.Click(chromedp.CSS("#annotate-form button[type=submit]")),
		waitFor(`document.getElementById('annotate-error').textContent !== ''`, 5*time.Second),
	)
	if got := eval[string](t, b, `document.getElementById('annotate-error').textContent`); got != "有效期最长 90 天，请选择更早的日期。" {
		t.Errorf("120 days: %q", got)
	}
	if got := eval[string](t, b, `document.getElementById('annotate-limits').textContent`); !strings.Contains(got, "最长 90 天") {
		t.Errorf("the form does not state its limits: %q", got)
	}
	// A department the server does not know: its own words, no English.
	b.do(t, "annotated copy for an unknown department", 20*time.Second,
		chromedp.Evaluate[chromedp.Void](`(() => { const o = document.createElement('option'); o.value = 'NOSUCHDEPT'; o.textContent = 'x'; document.getElementById('relying').append(o); document.getElementById('relying').value = 'NOSUCHDEPT'; document.getElementById('expiry').value = document.getElementById('expiry').min; document.getElementById('annotate-error').textContent = ''; })()`),
		chromedp.Click(chromedp.CSS("#annotate-form button[type=submit]")),
		waitFor(`document.getElementById('annotate-error').textContent !== ''`, 5*time.Second),
	)
	if got := eval[string](t, b, `document.getElementById('annotate-error').textContent`); !strings.Contains(got, "所选用证部门不在信任列表中") || regexp.MustCompile(`[a-z]{4,}`).MatchString(got) {
		t.Errorf("unknown department: %q", got)
	}
	b.do(t, "close the form", 5*time.Second, chromedp.Click(chromedp.CSS("#annotate summary")))

	// Signing out ends the session on the server and on the phone.
	sess := eval[string](t, b, `JSON.parse(localStorage.getItem('elicence.wallet.session')).session`)
	b.do(t, "sign out", 10*time.Second,
		chromedp.Click(chromedp.CSS("#back")),
		chromedp.Click(chromedp.CSS("#signout")),
		waitFor(`!document.getElementById('signin-view').hidden && localStorage.getItem('elicence.wallet.licences') === null`, 5*time.Second),
	)
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", sys.URL+"/v1/wallet/licences", nil)
		req.Header.Set("Authorization", "Bearer "+sess)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after sign-out the session still answers %d", res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// balancer is a load balancer with no sticky routing: each request goes
// to the next backend in turn, and it counts which backend answered the
// wallet's requests.
type balancer struct {
	mu       sync.Mutex
	backends []*url.URL
	next     int
	wallet   map[string]int
}

func (lb *balancer) set(urls ...string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = nil
	for _, u := range urls {
		p, _ := url.Parse(u)
		lb.backends = append(lb.backends, p)
	}
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	if len(lb.backends) == 0 {
		lb.mu.Unlock()
		http.Error(w, "no backend", http.StatusBadGateway)
		return
	}
	be := lb.backends[lb.next%len(lb.backends)]
	lb.next++
	if strings.HasPrefix(r.URL.Path, "/v1/wallet/") {
		lb.wallet[be.Host]++
	}
	lb.mu.Unlock()
	httputil.NewSingleHostReverseProxy(be).ServeHTTP(w, r)
}

// issuerProc is one "elicence issuer serve" running in this process.
type issuerProc struct {
	url  string
	stop func()
}

var listening = regexp.MustCompile(`"msg":"issuer listening"[^}]*"addr":"([^"]+)"`)

func startIssuerServe(t *testing.T, args ...string) issuerProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cli.Run(ctx, &cli.Env{Stdout: out, Stderr: out, Now: time.Now}, append([]string{"issuer", "serve", "--addr", "127.0.0.1:0", "--log-level", "info"}, args...))
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			u := m[1]
			if !strings.HasPrefix(u, "http") {
				u = "http://" + u
			}
			return issuerProc{url: u, stop: stop}
		}
		select {
		case <-done:
			t.Fatalf("issuer serve exited:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("issuer serve did not start:\n%s", out)
		}
	}
}

// TestWalletSessionPostgres signs a holder in through a load balancer
// with no sticky routing in front of two "elicence issuer serve" processes
// on one PostgreSQL database: the wallet's requests reach both processes
// with one session. Then every process stops and a new one starts: the
// phone, reloaded, is still signed in, and shows a dynamic QR.
func TestWalletSessionPostgres(t *testing.T) {
	chromiumPath(t)
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	root := issuertest.Root(t)
	svc, err := issuer.New(issuer.Config{Store: st, Passphrase: []byte(issuertest.Passphrase), Root: &root, DecryptKey: issuertest.DecryptKey})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	if err := issuertest.Populate(ctx, svc, tokens); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	st.Close()
	dir := t.TempDir()
	keyPEM, err := keys.MarshalPrivateKey(root.Key, []byte(issuertest.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir+"/"+keys.RootKeyFile, string(keyPEM)); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir+"/"+keys.RootCertFile, string(keys.CertificatePEM(root.Cert.Raw))); err != nil {
		t.Fatal(err)
	}
	t.Setenv(cli.PassphraseEnv, issuertest.Passphrase)
	args := []string{"--db", dbURL, "--root-key", dir + "/" + keys.RootKeyFile}
	a, b := startIssuerServe(t, args...), startIssuerServe(t, args...)

	lb := &balancer{wallet: map[string]int{}}
	lb.set(a.url, b.url)
	front := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go front.Serve(ln)
	t.Cleanup(func() { front.Close() })
	base := "http://" + ln.Addr().String()
	sys := &system{URL: base, token: tokens[issuertest.TokenIssuer]}

	const citizen = "350102199003071234"
	var l licence
	sys.call(t, "POST", "/v1/licences", sys.token, json.RawMessage(`{"type": "11110000MB00000048001", "holder_name": "李四", "holder_id": "`+citizen+`", "valid_from": "2024-01-15", "fields": {"cc": "C1", "fi": "2012-01-15"}}`), &l, http.StatusCreated)

	br := newBrowser(t)
	br.do(t, "sign in through the balancer", 30*time.Second,
		viewport(390, 844, true),
		chromedp.Navigate(base+sys.holderLink(t, citizen)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, l.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, l.ID))),
		waitFor(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 10*time.Second),
		chromedp.Reload(),
		waitFor(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 15*time.Second),
	)
	lb.mu.Lock()
	hosts := len(lb.wallet)
	counts := fmt.Sprint(lb.wallet)
	lb.mu.Unlock()
	if hosts != 2 {
		t.Fatalf("the wallet's requests reached %s; want both processes", counts)
	}
	first := eval[string](t, br, `JSON.parse(localStorage.getItem('elicence.wallet.session')).session`)

	// Every issuer process stops; a new one starts on the same database.
	a.stop()
	b.stop()
	c := startIssuerServe(t, args...)
	lb.set(c.url)
	br.do(t, "reload after the restart", 30*time.Second,
		chromedp.Reload(),
		waitFor(`document.getElementById('qr') && (document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 15*time.Second),
	)
	now := eval[string](t, br, `JSON.parse(localStorage.getItem('elicence.wallet.session')).session`)
	if now == first {
		t.Errorf("the session was not refreshed on opening")
	}
	if msg := eval[string](t, br, `document.getElementById('wallet-message').textContent`); msg != "" {
		t.Errorf("after the restart the wallet says %q", msg)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// TestServiceWorker checks what the wallet's service worker keeps: the
// wallet page and every asset by versioned and plain URL, under a cache
// name that names this build; it is served only with the wallet.
func TestServiceWorker(t *testing.T) {
	get := func(h http.Handler, path string) (int, string, http.Header) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String(), rec.Header()
	}
	h := web.AllPages().Wrap(http.NotFoundHandler())
	code, body, hdr := get(h, "/wallet-sw.js")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/javascript") || hdr.Get("Cache-Control") != "no-cache" {
		t.Fatalf("/wallet-sw.js: %d %v", code, hdr)
	}
	m := regexp.MustCompile(`const PRECACHE = (\[.*\]);`).FindStringSubmatch(body)
	if m == nil || !regexp.MustCompile(`const CACHE = 'elicence-wallet-[0-9a-f]{16}';`).MatchString(body) {
		t.Fatalf("service worker lacks its cache list:\n%.300s", body)
	}
	var urls []string
	if err := json.Unmarshal([]byte(m[1]), &urls); err != nil {
		t.Fatal(err)
	}
	_, page, _ := get(h, "/wallet")
	want := []string{"/wallet", "/static/wallet.js", "/static/i18n.js", "/static/api.js", "/static/qrcode.js", "/static/time.js"}
	for _, ref := range regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		want = append(want, strings.ReplaceAll(ref[1], "&amp;", "&"))
	}
	for _, w := range want {
		if !slices.Contains(urls, w) {
			t.Errorf("the service worker does not keep %s", w)
		}
	}
	for _, u := range urls {
		if c, _, _ := get(h, u); c != 200 {
			t.Errorf("kept URL %s answers %d", u, c)
		}
	}
	if c, _, _ := get(web.VerifierPages().Wrap(http.NotFoundHandler()), "/wallet-sw.js"); c != 404 {
		t.Errorf("a verifier serves the wallet's service worker: %d", c)
	}
}
