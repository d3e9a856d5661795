package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"elicence/internal/testenv"
	"elicence/qr"
)

// presentationTTL is the shortened life of the wallet's dynamic QR code,
// and so its refresh interval, in these tests (60 s in service).
const presentationTTL = 3 * time.Second

// TestBrowser drives the pages in headless Chromium against the whole
// system running in this process: the issuer with its SQLite store and
// demo department, the verifier, and the pages, as "elicence serve" wires
// them. It proves, as a clerk and a citizen would see it:
//
//   - counter: a handheld scanner's text and Enter, with no click, show
//     the green card; the input keeps the focus and is cleared; a licence
//     revoked through the API as a penalty then shows the red card with
//     已吊销（行政处罚） and when (from the status list's details), and the live region
//     announces it; the recent scans are gone after a reload
//     and nothing personal is stored; the card fits tablets both ways up;
//   - webcam: Chromium's fake camera, fed a video of the QR code, gives the
//     green card;
//   - wallet: a holder link signs in; the dynamic QR changes after the
//     refresh interval, and the old one is then refused on the counter page
//     with PRESENTATION_EXPIRED's reason; offline, the static QR shows with
//     its warning; an annotated copy is made;
//   - verify: a QR text in the URL (fragment or query) is verified at
//     once; English switches, and the choice is remembered.
//
// With UPDATE_SCREENSHOTS=1 it writes docs/screenshots/*.png.
func TestBrowser(t *testing.T) {
	chromiumPath(t)
	ffmpeg := testenv.RequireTool(t, "ffmpeg", "ffmpeg")
	start := time.Now()
	sys := startSystem(t, presentationTTL)
	t.Logf("elicence serve ready in %s", time.Since(start).Round(time.Millisecond))
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

	// The verify subtest's revoked licence, revoked before any page asks:
	// it does not hang on the counter subtest's revocation.
	penalised := sys.issue(t, map[string]any{
		"type": sys.foodType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
		"valid_from": "2024-03-01",
		"fields":     map[string]string{"pn": "JY13501020012346", "ba": "福州市鼓楼区五四路 100 号二层"},
	})
	sys.revoke(t, penalised.ID, "penalty")

	b := newBrowser(t)

	t.Run("counter", func(t *testing.T) {
		b.do(t, "open the counter page", 20*time.Second,
			viewport(1366, 768, false),
			chromedp.Navigate(sys.URL+"/counter"),
			chromedp.WaitVisible(chromedp.CSS("#scan")),
		)
		// A scanner types into whatever has the focus: no click first.
		scan(t, b, biz.QRText, typed, "PASSED")
		text := cardText(t, b)
		for _, want := range []string{"通过", "营业执照", "福州榕城数字科技有限公司", "示例市市场监督管理局", "2044-02-28"} {
			if !strings.Contains(text, want) {
				t.Errorf("green card lacks %q:\n%s", want, text)
			}
		}
		if got := eval[string](t, b, `document.activeElement.id + '|' + document.getElementById('scan').value`); got != "scan|" {
			t.Errorf("after a scan, focus|value = %q, want the empty scan input focused", got)
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-1366x768.png"))

		// The clerk clicks elsewhere; the input has the focus again when the
		// click is done, so the next scan reaches it even when its text
		// arrives at once and the page's timers run late (they once did
		// under load, and the scan was lost).
		b.do(t, "slow the page's timers", 5*time.Second, chromedp.Evaluate[chromedp.Void](slowTimers))
		b.do(t, "click the card", 5*time.Second, chromedp.Click(chromedp.CSS("#verdict .verdict-fields")))
		if got := eval[string](t, b, `document.activeElement.id`); got != "scan" {
			t.Errorf("right after a click on the card the focus is on %q, want the scan input", got)
		}
		scan(t, b, food.QRText, inserted, "PASSED")
		b.do(t, "timers back", 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.setTimeout = window.elicenceTestSetTimeout`))

		sys.revoke(t, food.ID, "penalty")
		// The verifier may hold the status list a moment longer; the clerk
		// scans again, as at a real counter.
		revokedAt := time.Now()
		for attempt := 1; ; attempt++ {
			scanAny(t, b, food.QRText, attempt == 1)
			if eval[string](t, b, `document.getElementById('verdict').dataset.indication`) == "FAILED" || time.Since(revokedAt) > 15*time.Second {
				t.Logf("revocation seen on scan %d, %s after it", attempt, time.Since(revokedAt).Round(time.Millisecond))
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		card := eval[map[string]string](t, b, `({...document.getElementById('verdict').dataset, cls: document.getElementById('verdict').className})`)
		if card["indication"] != "FAILED" || card["subIndication"] != "REVOKED" || !strings.Contains(card["cls"], "fail") {
			t.Fatalf("after revocation the card is %v, want FAILED/REVOKED in red", card)
		}
		text = cardText(t, b)
		// The status list's details say why and when: a penalty is 吊销.
		for _, want := range []string{"不通过", "已吊销（行政处罚）", " 起", "食品经营许可证"} {
			if !strings.Contains(text, want) {
				t.Errorf("red card lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "已被发证部门宣布失效") {
			t.Errorf("red card words a penalty as a revocation of unknown reason:\n%s", text)
		}
		if got := eval[string](t, b, `document.querySelector('#verdict [aria-live="assertive"]').textContent`); !strings.Contains(got, "已吊销") {
			t.Errorf("live region says %q, want the reason announced", got)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#recent .recent-item').length`); n < 3 {
			t.Errorf("%d recent scans listed, want at least 3", n)
		}

		// Nothing personal outlives the page.
		stored := eval[string](t, b, `JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})`)
		for _, personal := range []string{"福州榕城", holder[len(holder)-4:], biz.QRText[:20], biz.ID} {
			if strings.Contains(stored, personal) {
				t.Errorf("browser storage holds %q: %s", personal, stored)
			}
		}
		b.do(t, "reload", 10*time.Second, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#scan")))
		if n := eval[int](t, b, `document.querySelectorAll('#recent .recent-item').length`); n != 0 {
			t.Errorf("%d recent scans survive a reload, want none", n)
		}
		scan(t, b, biz.QRText, inserted, "PASSED")
		// Tablets, both ways up: the card fits, nothing scrolls sideways.
		for _, size := range [][2]int64{{1024, 768}, {768, 1024}} {
			b.do(t, "tablet", 10*time.Second, viewport(size[0], size[1], true), noSidewaysScroll())
			if !eval[bool](t, b, `(() => { const r = document.querySelector('#verdict .verdict-head').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()`) {
				t.Errorf("at %dx%d the verdict is out of view after a scan", size[0], size[1])
			}
		}
		b.do(t, "phone screenshot", 10*time.Second,
			viewport(390, 844, true),
			chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`),
			screenshot(t, shots, "counter-390x844.png"),
			viewport(1366, 768, false),
		)
	})

	t.Run("verify", func(t *testing.T) {
		b.do(t, "open the verify page with a QR in the URL", 20*time.Second,
			viewport(1366, 768, false),
			chromedp.Navigate(sys.URL+"/verify#"+url.PathEscape(biz.QRText)),
			waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 15*time.Second),
			screenshot(t, shots, "verify-1366x768.png"),
			viewport(390, 844, true),
			chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`),
			screenshot(t, shots, "verify-390x844.png"),
			viewport(1366, 768, false),
		)
		// The query form of the URL, with '+' and '%' of Base45 escaped.
		b.do(t, "the query form", 15*time.Second,
			chromedp.Navigate(sys.URL+"/verify?t="+url.QueryEscape(penalised.QRText)),
			waitFor(`document.getElementById('verdict').dataset.subIndication === 'REVOKED'`, 10*time.Second),
		)
		// English, remembered, and back.
		b.do(t, "switch to English", 10*time.Second,
			chromedp.Click(chromedp.CSS("#lang-toggle")),
			waitFor(`document.documentElement.lang === 'en' && document.querySelector('.verdict-word').textContent === 'Not valid' && document.querySelector('.verdict-reason').textContent.startsWith('Revoked as a penalty')`, 5*time.Second),
			chromedp.Reload(),
			waitFor(`document.documentElement.lang === 'en' && document.querySelector('#verify-heading').textContent.startsWith('Verify')`, 10*time.Second),
			chromedp.Click(chromedp.CSS("#lang-toggle")),
			waitFor(`document.documentElement.lang === 'zh-CN'`, 5*time.Second),
		)
	})

	t.Run("wallet", func(t *testing.T) {
		link := sys.holderLink(t, holder)
		b.do(t, "sign in with the holder link", 20*time.Second,
			viewport(390, 844, true),
			chromedp.Navigate(sys.URL+link),
			chromedp.WaitVisible(chromedp.CSS("#cards .licence-card")),
		)
		if h := eval[string](t, b, `location.hash`); h != "" {
			t.Errorf("the sign-in token stays in the address bar: %q", h)
		}
		// The licences stay on the phone (TestWalletOffline shows why).
		if s := eval[string](t, b, `Object.keys(localStorage).join()`); !strings.Contains(s, "elicence.wallet.session") {
			t.Errorf("localStorage keys %q: want the session kept on the phone", s)
		}
		b.do(t, "show the business licence", 20*time.Second,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#cards .licence-card[data-id=%q]`, biz.ID))),
			waitFor(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 10*time.Second),
		)
		first := eval[string](t, b, `document.getElementById('qr').dataset.qrText`)
		if r := sys.verify(t, first); r.Indication != "PASSED" {
			t.Errorf("the wallet's fresh dynamic QR verifies %s/%s, want PASSED", r.Indication, r.SubIndication)
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "wallet-390x844.png"))
		b.do(t, "wait for the refresh", 4*presentationTTL+5*time.Second,
			waitFor(fmt.Sprintf(`(document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:') && document.getElementById('qr').dataset.qrText !== %q`, first), 4*presentationTTL+5*time.Second),
		)
		b.do(t, "wide screenshot", 10*time.Second,
			viewport(1366, 768, false),
			screenshot(t, shots, "wallet-1366x768.png"),
			viewport(390, 844, true),
		)

		// No network: the static code, with its warning.
		b.do(t, "go offline", 10*time.Second,
			offline(true),
			waitFor(`!document.getElementById('offline-banner').hidden && (document.getElementById('qr').dataset.qrText || '').includes('/V/LC2:')`, 5*time.Second),
		)
		if w := eval[string](t, b, `document.getElementById('offline-banner').textContent`); !strings.Contains(w, "静态码，仅限离线出示，请以窗口核验为准") {
			t.Errorf("offline warning %q", w)
		}
		b.do(t, "back online", 10*time.Second,
			offline(false),
			waitFor(`document.getElementById('offline-banner').hidden && (document.getElementById('qr').dataset.qrText || '').includes('/V/LP2:')`, 10*time.Second),
		)

		// An annotated copy for a named department.
		b.do(t, "annotated copy", 20*time.Second,
			chromedp.Click(chromedp.CSS("#annotate summary")),
			waitFor(`document.querySelectorAll('#relying option').length > 1`, 10*time.Second),
			chromedp.SetValue(chromedp.CSS("#relying"), sys.relyingDept),
			chromedp.SendKeys(chromedp.CSS("#purpose"), "办理企业银行开户"),
			chromedp.Click(chromedp.CSS("#annotate-form button[type=submit]")),
			waitFor(`(document.getElementById('annotated-qr').dataset.qrText || '').includes('/V/LA2:')`, 10*time.Second),
		)
		if info := eval[string](t, b, `document.getElementById('annotated-info').textContent`); !strings.Contains(info, "办理企业银行开户") {
			t.Errorf("annotated copy info %q lacks the purpose", info)
		}

		// The first dynamic QR, shown at the counter after it expired. The
		// wallet refreshes a code before it expires, so seeing the refresh
		// says nothing about the old one: wait until the verifier itself
		// calls it expired (its validity plus the clock-skew tolerance).
		for deadline := time.Now().Add(4*presentationTTL + 40*time.Second); ; {
			r := sys.verify(t, first)
			if r.SubIndication == "PRESENTATION_EXPIRED" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the first dynamic QR still verifies %s/%s", r.Indication, r.SubIndication)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.do(t, "the old dynamic QR at the counter", 20*time.Second,
			viewport(1366, 768, false),
			chromedp.Navigate(sys.URL+"/counter"),
			chromedp.WaitVisible(chromedp.CSS("#scan")),
		)
		scan(t, b, first, inserted, "FAILED")
		card := eval[map[string]string](t, b, `({...document.getElementById('verdict').dataset})`)
		if card["subIndication"] != "PRESENTATION_EXPIRED" {
			t.Errorf("the stale dynamic QR is %v, want PRESENTATION_EXPIRED", card)
		}
		if text := cardText(t, b); !strings.Contains(text, "动态码已过期，请持证人刷新") {
			t.Errorf("red card lacks the reason:\n%s", text)
		}
	})

	t.Run("webcam", func(t *testing.T) {
		dir := t.TempDir()
		png, err := qr.PNG(biz.QRText, qr.Options{ModulePixels: 4})
		if err != nil {
			t.Fatal(err)
		}
		pngPath, video := filepath.Join(dir, "qr.png"), filepath.Join(dir, "qr.y4m")
		if err := os.WriteFile(pngPath, png, 0o644); err != nil {
			t.Fatal(err)
		}
		// A 640×480 video of the code on white, as a camera at a counter sees it.
		cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-loop", "1", "-i", pngPath,
			"-vf", "pad=640:480:(ow-iw)/2:(oh-ih)/2:color=white,format=yuv420p", "-t", "1", "-r", "5", video)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		cam := newBrowser(t,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", video),
		)
		cam.do(t, "scan with the camera", 30*time.Second,
			viewport(1366, 768, false),
			chromedp.Navigate(sys.URL+"/counter"),
			chromedp.WaitVisible(chromedp.CSS("#scan")),
			chromedp.Click(chromedp.CSS("#camera-toggle")),
			waitFor(`document.getElementById('verdict').dataset.indication !== ''`, 20*time.Second),
		)
		if got := eval[string](t, cam, `document.getElementById('verdict').dataset.indication`); got != "PASSED" {
			t.Fatalf("camera scan: %s\n%s", got, cardText(t, cam))
		}
		if text := cardText(t, cam); !strings.Contains(text, "福州榕城数字科技有限公司") {
			t.Errorf("green card lacks the holder:\n%s", text)
		}
		if got := eval[string](t, cam, `document.getElementById('camera-toggle').getAttribute('aria-pressed')`); got != "true" {
			t.Errorf("camera button aria-pressed = %s", got)
		}
		if p := cam.logs.problems(); len(p) > 0 {
			t.Errorf("the counter page logged errors:\n%s", strings.Join(p, "\n"))
		}
	})

	for _, br := range []*browser{b} {
		if p := br.logs.problems(); len(p) > 0 {
			t.Errorf("the pages logged errors:\n%s", strings.Join(p, "\n"))
		}
	}
}

// How a test scan reaches the page: typed key by key as a keyboard-wedge
// scanner does, or inserted at once (faster, for repeated scans). Both go
// to whatever has the focus, and both end with the Enter key.
const (
	typed    = true
	inserted = false
)

// slowTimers makes every setTimeout of the page run 300 ms late, as on a
// page busy under load, until window.elicenceTestSetTimeout is put back.
const slowTimers = `(() => {
	const st = window.setTimeout;
	window.elicenceTestSetTimeout = st;
	window.setTimeout = (f, ms, ...a) => st(f, (ms || 0) + 300, ...a);
})()`

// scan scans text and waits for the verdict want.
func scan(t *testing.T, b *browser, text string, keys bool, want string) {
	t.Helper()
	scanAny(t, b, text, keys)
	if got := eval[string](t, b, `document.getElementById('verdict').dataset.indication`); got != want {
		t.Fatalf("verdict %s, want %s:\n%s", got, want, cardText(t, b))
	}
}

// scanAny scans text and waits for any verdict.
func scanAny(t *testing.T, b *browser, text string, keys bool) {
	t.Helper()
	enter := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if keys {
			_, err := chromedp.KeyEvent(text+"\r")(ctx, tg)
			return err
		}
		if _, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			return err
		}
		_, err := chromedp.KeyEvent("\r")(ctx, tg)
		return err
	})
	b.do(t, "scan", 20*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('verdict').dataset.indication = ''`),
		enter,
		waitFor(`document.getElementById('verdict').dataset.indication !== ''`, 15*time.Second),
	)
}

func cardText(t *testing.T, b *browser) string {
	return eval[string](t, b, `document.getElementById('verdict').innerText`)
}

// offline switches the page's network off or on, as a phone losing signal:
// requests fail (or work) first, then navigator.onLine changes and the
// page hears "offline" (or "online"), as on a phone.
func offline(off bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}},
		})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: off, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	})
}
