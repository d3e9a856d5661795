package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"elicence/web"
)

// verifyGate sits between the browser and the running system and holds or
// delays the next POST /v1/verify requests, as a hung or slow verifier
// would; everything else passes straight through.
type verifyGate struct {
	mu      sync.Mutex
	plan    []gateStep // what the next requests get, in order
	held    chan struct{}
	aborted atomic.Int32 // held or delayed requests the browser gave up
	served  atomic.Int32 // verify requests answered
}

// gateStep is what one request gets: held until release, or delayed.
type gateStep struct {
	hold  bool
	delay time.Duration
}

func (g *verifyGate) next(steps ...gateStep) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.plan = append(g.plan, steps...)
	if g.held == nil {
		g.held = make(chan struct{})
	}
}

// release lets every held request go on to the verifier.
func (g *verifyGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

func (g *verifyGate) take() (gateStep, chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.plan) == 0 {
		return gateStep{}, nil
	}
	s := g.plan[0]
	g.plan = g.plan[1:]
	return s, g.held
}

func (g *verifyGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/verify" {
			// Read the body first: only then does the server notice the
			// browser closing the connection, and cancel the context.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			step, held := g.take()
			var wait <-chan time.Time
			if step.delay > 0 {
				wait = time.After(step.delay)
			}
			if step.hold || step.delay > 0 {
				if !step.hold {
					held = nil
				}
				select {
				case <-held:
				case <-wait:
				case <-r.Context().Done():
					g.aborted.Add(1)
					return
				}
			}
			defer g.served.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// TestCounter drives the counter page in headless Chromium against the
// whole system, through a gate that can hang or slow the verifier. It
// proves, as a clerk sees it:
//
//   - each scanner suffix (Enter/CR, CR LF, LF, Tab, none) verifies, and
//     the next scan is never joined to the last;
//   - each kind of unreadable input (a Chinese input method's full-width
//     colon or letters, a truncated scan, a web address, random text, two
//     scans run together) gets the neutral 未能识别 card with its hint,
//     never the red one;
//   - a hung verifier gives the amber 无法确定 card within the deadline
//     with a retry button, the request is dropped, and its answer released
//     later never turns the card green;
//   - two quick scans against a slow verifier give two entries, each with
//     its own verdict, and the card keeps the newest;
//   - a revoked licence is red, worded by its reason and time from the
//     status list's details (a holder's cancellation is 已注销 with the
//     time it happened, never 吊销), a company's code is labelled 统一社会信用代码, the card
//     says it is a static code, and green and red differ in more than colour;
//   - no message is missing in either language.
//
// With UPDATE_SCREENSHOTS=1 it writes docs/screenshots/counter-*.png.
func TestCounter(t *testing.T) {
	chromiumPath(t)
	sys := startSystem(t, time.Minute)
	shots := screenshotDir(t)
	target, err := url.Parse(sys.URL)
	if err != nil {
		t.Fatal(err)
	}
	gate := &verifyGate{}
	front := httptest.NewServer(gate.wrap(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(front.Close)
	t.Cleanup(gate.release)

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

	b := newBrowser(t)
	b.do(t, "open the counter page", 20*time.Second,
		viewport(1366, 768, false),
		chromedp.Navigate(front.URL+"/counter"),
		chromedp.WaitVisible(chromedp.CSS("#scan")),
	)
	deadline := time.Duration(eval[int](t, b, `Number(document.documentElement.dataset.verifyTimeout)`)) * time.Millisecond
	if deadline != web.DefaultVerifyTimeout {
		t.Fatalf("the page's deadline is %s, want web.DefaultVerifyTimeout %s", deadline, web.DefaultVerifyTimeout)
	}

	t.Run("suffixes", func(t *testing.T) {
		for _, sfx := range []struct{ name, keys string }{
			{"Enter (CR)", "\r"}, {"CR LF", "\r\n"}, {"LF", "\n"}, {"Tab", "\t"}, {"none", ""},
		} {
			t.Run(sfx.name, func(t *testing.T) {
				// Two different licences back to back: the second card must
				// be the second licence, not the two texts joined.
				// The first is typed key by key, the second inserted at once
				// (as some scanners do), except with no suffix, where the
				// pace of the keys is what tells a scanner from a person.
				for i, l := range []struct {
					lic  licence
					want string
				}{{biz, "营业执照"}, {food, "食品经营许可证"}} {
					c := scanKeys(t, b, l.lic.QRText, sfx.keys, i == 0 || sfx.keys == "")
					if c["indication"] != "PASSED" || !strings.Contains(c["text"], l.want) {
						t.Fatalf("suffix %q: card %s, want PASSED %s:\n%s", sfx.keys, c["indication"], l.want, c["text"])
					}
					if got := eval[string](t, b, `document.activeElement.id + '|' + document.getElementById('scan').value`); got != "scan|" {
						t.Errorf("suffix %q: after a scan, focus|value = %q, want the empty scan input focused", sfx.keys, got)
					}
				}
			})
		}
		// A scanner with no suffix that cut a code short: the incomplete text
		// still gets its card, a little later, and the next scan is not
		// joined to it.
		if c := scanKeys(t, b, biz.QRText[:len(biz.QRText)/2], "", false); c["indication"] != "UNREADABLE" {
			t.Errorf("a truncated scan with no suffix: card %s, want UNREADABLE:\n%s", c["indication"], c["text"])
		}
		if c := scanKeys(t, b, food.QRText, "", true); c["indication"] != "PASSED" || !strings.Contains(c["text"], "食品经营许可证") {
			t.Errorf("the scan after a truncated one: card %s, want PASSED 食品经营许可证:\n%s", c["indication"], c["text"])
		}
		// A clerk typing by hand, slower than any scanner, is not cut short
		// by the idle time: nothing is verified until Enter.
		before := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
		for _, r := range "LC1:ABCDEFGH" {
			b.do(t, "type by hand", 5*time.Second, chromedp.KeyEvent(string(r)), chromedp.Sleep(250*time.Millisecond))
		}
		b.do(t, "pause", 5*time.Second, chromedp.Sleep(time.Second))
		if n := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`); n != before {
			t.Errorf("text typed by hand was verified before Enter (%d scans, want %d)", n, before)
		}
		b.do(t, "clear", 5*time.Second, chromedp.Click(chromedp.CSS("#clear")))
	})

	t.Run("unreadable", func(t *testing.T) {
		half := len(biz.QRText) / 2
		for _, in := range []struct {
			name, text, cause, hint string
		}{
			{"full-width colon", "LC1\uff1a" + biz.QRText[4:], "ime", "输入法切换到英文"},
			{"full-width letters", toFullWidth(biz.QRText[:3]) + biz.QRText[3:], "ime", "输入法切换到英文"},
			{"Chinese full stop", biz.QRText[:40] + "。" + biz.QRText[41:], "ime", "输入法切换到英文"},
			{"truncated", biz.QRText[:half], "", "慢一点重新扫描"},
			{"truncated by one", biz.QRText[:len(biz.QRText)-1], "", "重新扫描"},
			{"web address", "https://weixin.qq.com/r/AbCdEfGh12345", "foreign", "出示电子证照上的二维码"},
			{"random text", "HELLO WORLD 12345", "foreign", "出示电子证照上的二维码"},
			{"two scans joined", biz.QRText + food.QRText, "glued", "只扫描一次"},
		} {
			t.Run(in.name, func(t *testing.T) {
				c := scanKeys(t, b, in.text, "\r", false)
				if c["indication"] != "UNREADABLE" || c["verdict"] != "unreadable" || strings.Contains(c["cls"], "fail") {
					t.Fatalf("%s: card %v, want the neutral UNREADABLE card:\n%s", in.name, c, c["text"])
				}
				if in.cause != "" && c["cause"] != in.cause {
					t.Errorf("%s: cause %q, want %q", in.name, c["cause"], in.cause)
				}
				if !strings.Contains(c["text"], "未能识别") || strings.Contains(c["text"], "不通过") {
					t.Errorf("%s: the card does not say 未能识别 alone:\n%s", in.name, c["text"])
				}
				if !strings.Contains(c["hint"], in.hint) {
					t.Errorf("%s: hint %q, want it to say %q", in.name, c["hint"], in.hint)
				}
				if c["sub"] != "" {
					t.Logf("%s: verifier said %s", in.name, c["sub"])
				}
			})
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-unreadable-1366x768.png"))
	})

	t.Run("hung server", func(t *testing.T) {
		gate.next(gateStep{hold: true})
		start := time.Now()
		c := scanKeys(t, b, biz.QRText, "\r", false)
		took := time.Since(start)
		t.Logf("amber card %s after the scan (deadline %s)", took.Round(10*time.Millisecond), deadline)
		if c["indication"] != "INDETERMINATE" || c["subIndication"] != "TIMEOUT" || !strings.Contains(c["cls"], "unsure") {
			t.Fatalf("hung verifier: card %v, want amber INDETERMINATE/TIMEOUT:\n%s", c, c["text"])
		}
		if !strings.Contains(c["text"], "无法确定") || !strings.Contains(c["text"], "秒内未答复") {
			t.Errorf("amber card lacks 无法确定 and its reason:\n%s", c["text"])
		}
		if !eval[bool](t, b, `!document.querySelector('#verdict .verdict-actions').hidden`) {
			t.Error("no retry button on the amber card")
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-timeout-1366x768.png"))
		// The page dropped the request: the gate sees it given up.
		b.do(t, "the request is dropped", 5*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			for gate.aborted.Load() == 0 {
				select {
				case <-ctx.Done():
					return fmt.Errorf("the hung request was never given up by the page")
				case <-time.After(50 * time.Millisecond):
				}
			}
			return nil
		}))
		// Let the verifier answer now: no late green.
		gate.release()
		b.do(t, "wait", 5*time.Second, chromedp.Sleep(1500*time.Millisecond))
		after := cardState(t, b)
		if after["indication"] != "INDETERMINATE" || after["first"] != "INDETERMINATE" {
			t.Fatalf("after the late answer: card %s, first entry %s; want both still INDETERMINATE", after["indication"], after["first"])
		}
		// Retry verifies the same scan again: the same entry turns green.
		total := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
		b.do(t, "retry", 15*time.Second,
			chromedp.Click(chromedp.CSS("#verdict .verdict-retry")),
			waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 10*time.Second),
		)
		if n := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`); n != total {
			t.Errorf("retry made a new scan (%d, want %d)", n, total)
		}
		if got := cardState(t, b)["first"]; got != "PASSED" {
			t.Errorf("after retry the entry is %s, want PASSED", got)
		}
		if got := eval[string](t, b, `document.activeElement.id`); got != "scan" {
			t.Errorf("after retry the focus is on %q, want the scan input", got)
		}
	})

	t.Run("slow server", func(t *testing.T) {
		// A slow first answer arriving after a newer scan's answer stays
		// in its own entry.
		gate.next(gateStep{delay: 2 * time.Second}, gateStep{})
		served := gate.served.Load()
		total := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
		insertAndEnter(t, b, biz.QRText)
		insertAndEnter(t, b, food.QRText)
		b.do(t, "both answers", 15*time.Second,
			waitFor(fmt.Sprintf(`Number(document.getElementById('recent').dataset.total) === %d`, total+2), 5*time.Second),
			waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 5*time.Second),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				for gate.served.Load() < served+2 {
					select {
					case <-ctx.Done():
						return fmt.Errorf("the verifier answered %d of 2 scans", gate.served.Load()-served)
					case <-time.After(50 * time.Millisecond):
					}
				}
				return nil
			}),
			waitFor(`[...document.querySelectorAll('#recent .recent-item')].slice(0, 2).every(li => li.dataset.indication === 'PASSED')`, 5*time.Second),
		)
		if text := cardText(t, b); !strings.Contains(text, "食品经营许可证") {
			t.Errorf("the late answer for the first scan replaced the newer card:\n%s", text)
		}
		rows := eval[[]string](t, b, `[...document.querySelectorAll('#recent .recent-item')].slice(0, 2).map(li => li.innerText)`)
		if !strings.Contains(rows[0], "食品经营许可证") || !strings.Contains(rows[1], "营业执照") {
			t.Errorf("entries %q, want the food permit then the business licence", rows)
		}

		// Two quick scans, both slow: two entries, two verdicts.
		gate.next(gateStep{delay: 1500 * time.Millisecond}, gateStep{delay: 1500 * time.Millisecond})
		total += 2
		insertAndEnter(t, b, food.QRText)
		insertAndEnter(t, b, biz.QRText)
		if p := eval[[]string](t, b, `[...document.querySelectorAll('#recent .recent-item')].slice(0, 2).map(li => li.className)`); !strings.Contains(p[0], "pending") || !strings.Contains(p[1], "pending") {
			t.Logf("entries while the verifier is slow: %q", p)
		}
		b.do(t, "two cards", 15*time.Second,
			waitFor(fmt.Sprintf(`Number(document.getElementById('recent').dataset.total) === %d`, total+2), 5*time.Second),
			waitFor(`[...document.querySelectorAll('#recent .recent-item')].slice(0, 2).every(li => li.dataset.indication === 'PASSED')`, 10*time.Second),
		)
		if text := cardText(t, b); !strings.Contains(text, "营业执照") {
			t.Errorf("the card is not the newest scan's:\n%s", text)
		}
		// The clerk opens the earlier entry: its own card, marked earlier.
		b.do(t, "show the earlier scan", 5*time.Second,
			chromedp.Click(chromedp.CSS(`#recent .recent-item:nth-child(2) button`)),
			waitFor(`!document.querySelector('#verdict .verdict-earlier').hidden`, 3*time.Second),
		)
		if text := cardText(t, b); !strings.Contains(text, "食品经营许可证") || !strings.Contains(text, "较早") {
			t.Errorf("the earlier entry's card:\n%s", text)
		}
	})

	t.Run("words", func(t *testing.T) {
		// Green: a company's code is its 统一社会信用代码, and a printed code
		// is said to be static.
		c := scanKeys(t, b, biz.QRText, "\r", false)
		if c["indication"] != "PASSED" {
			t.Fatalf("business licence: %v", c)
		}
		for _, want := range []string{"统一社会信用代码", holder, "静态码"} {
			if !strings.Contains(c["text"], want) {
				t.Errorf("green card lacks %q:\n%s", want, c["text"])
			}
		}
		if strings.Contains(c["text"], "证件号码") {
			t.Errorf("green card labels a credit code 证件号码:\n%s", c["text"])
		}
		pass := eval[map[string]string](t, b, lookJS)

		// Red: cancelled by the issuer. The status list's details say why
		// and when: 已注销 with its time, and never 吊销 (a penalty).
		revoked := sys.issue(t, map[string]any{
			"type": sys.foodType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
			"valid_from": "2024-03-01", "fields": map[string]string{"pn": "JY13501020099999", "ba": "福州市鼓楼区五四路 100 号二层"},
		})
		sys.revoke(t, revoked.ID, "cancelled")
		var red map[string]string
		for start := time.Now(); ; {
			red = scanKeys(t, b, revoked.QRText, "\r", false)
			if red["subIndication"] == "REVOKED" || time.Since(start) > 15*time.Second {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if red["indication"] != "FAILED" || red["subIndication"] != "REVOKED" || !strings.Contains(red["cls"], "fail") {
			t.Fatalf("revoked licence: %v", red)
		}
		for _, want := range []string{"不通过", "已注销", " 起"} {
			if !strings.Contains(red["text"], want) {
				t.Errorf("red card lacks %q:\n%s", want, red["text"])
			}
		}
		for _, bad := range []string{"吊销", "已被发证部门宣布失效", "状态截至"} {
			if strings.Contains(red["text"], bad) {
				t.Errorf("red card for a cancellation whose reason and time the status list carries says %q:\n%s", bad, red["text"])
			}
		}
		fail := eval[map[string]string](t, b, lookJS)
		// Without colour: icon, word, icon shape, border and head pattern
		// all differ.
		for _, k := range []string{"icon", "word", "clip", "border", "pattern"} {
			if pass[k] == fail[k] {
				t.Errorf("green and red cards have the same %s %q", k, pass[k])
			}
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-revoked-1366x768.png"))

		// Each reason code has its own word and the time it happened, once
		// the report carries them; a citizen's masked number is labelled so.
		words := eval[map[string]string](t, b, `import('/static/verdict.js').then(v => {
			const out = {};
			const changed = '2026-03-01T02:00:00Z';
			for (const code of ['cancelled', 'holder_request', 'withdrawn', 'issued_in_error', 'penalty', 'superseded', 'other']) {
				out['revoked.' + code] = v.reason({ report: { indication: 'FAILED', sub_indication: 'REVOKED', status: { value: 'revoked', reason: code, changed_at: changed } } });
			}
			for (const code of ['investigation', 'holder_request', 'other']) {
				out['suspended.' + code] = v.reason({ report: { indication: 'FAILED', sub_indication: 'SUSPENDED', status: { value: 'suspended', reason: code, changed_at: changed } } });
			}
			out.presentation = v.hint({ report: { indication: 'PASSED', kind: 'presentation' } });
			out.credential = v.hint({ report: { indication: 'PASSED', kind: 'credential' } });
			out.citizen = v.holderIdLabel('1101**********002X');
			out.uscc = v.holderIdLabel(`+jsString(holder)+`);
			out.other = v.holderIdLabel('A1234567');
			return out;
		})`)
		for k, want := range map[string]string{
			"revoked.cancelled": "已注销", "revoked.holder_request": "已注销", "revoked.withdrawn": "已撤销",
			"revoked.issued_in_error": "已撤销", "revoked.penalty": "已吊销", "revoked.superseded": "换发",
			"revoked.other": "已失效", "suspended.investigation": "暂停", "suspended.holder_request": "暂停",
			"suspended.other": "暂停", "presentation": "动态码", "credential": "截图", "citizen": "公民身份号码", "uscc": "统一社会信用代码", "other": "持证人代码",
		} {
			if !strings.Contains(words[k], want) {
				t.Errorf("%s: %q, want it to say %q", k, words[k], want)
			}
			if strings.HasPrefix(k, "revoked.") || strings.HasPrefix(k, "suspended.") {
				if !strings.Contains(words[k], "2026-03-01 10:00") {
					t.Errorf("%s: %q does not say when (2026-03-01 10:00)", k, words[k])
				}
				if k != "revoked.penalty" && strings.Contains(words[k], "吊销") {
					t.Errorf("%s: %q says 吊销", k, words[k])
				}
			}
		}
	})

	t.Run("English", func(t *testing.T) {
		b.do(t, "switch to English", 10*time.Second,
			chromedp.Click(chromedp.CSS("#lang-toggle")),
			waitFor(`document.documentElement.lang === 'en'`, 5*time.Second),
		)
		c := scanKeys(t, b, "LC1\uff1a"+biz.QRText[4:], "\r", false)
		if !strings.Contains(c["text"], "Not readable") || !strings.Contains(c["hint"], "English") {
			t.Errorf("English unreadable card:\n%s", c["text"])
		}
		if hasCJK(c["text"]) {
			t.Errorf("Chinese in the English card:\n%s", c["text"])
		}
		gate.next(gateStep{hold: true})
		c = scanKeys(t, b, biz.QRText, "\r", false)
		gate.release()
		if !strings.Contains(c["text"], "Cannot tell") || hasCJK(c["text"]) {
			t.Errorf("English amber card:\n%s", c["text"])
		}
		if words := eval[[]string](t, b, `[...document.querySelectorAll('#recent .recent-item strong')].map(s => s.textContent)`); hasCJK(strings.Join(words, "")) {
			t.Errorf("the recent list's verdicts are not in English: %q", words)
		}
		b.do(t, "back to Chinese", 10*time.Second,
			chromedp.Click(chromedp.CSS("#lang-toggle")),
			waitFor(`document.documentElement.lang === 'zh-CN'`, 5*time.Second),
		)
	})

	t.Run("document receipt", func(t *testing.T) {
		// A signed document's receipt, scanned from a printout: the card
		// shows its title, number, department and date, and its status.
		receipt := sys.signDocument(t, "关于同意设立分公司的批复", "闽市监〔2026〕12号")
		c := scanKeys(t, b, receipt, "\r", false)
		if c["indication"] != "PASSED" || !strings.Contains(c["text"], "关于同意设立分公司的批复") || !strings.Contains(c["text"], "闽市监〔2026〕12号") ||
			!strings.Contains(c["text"], "文号") {
			t.Errorf("receipt card %s:\n%s", c["indication"], c["text"])
		}
	})

	if m := eval[[]string](t, b, `import('/static/i18n.js').then(m => [...m.missing])`); len(m) > 0 {
		t.Errorf("the counter page asked for messages missing in a language: %q", m)
	}
	if p := b.logs.problems(); len(p) > 0 {
		t.Errorf("the counter page logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// lookJS reads what distinguishes a card without colour.
const lookJS = `(() => {
	const v = document.getElementById('verdict');
	const icon = v.querySelector('.verdict-icon');
	const s = getComputedStyle(v), is = getComputedStyle(icon), hs = getComputedStyle(v.querySelector('.verdict-head'));
	return { icon: icon.textContent, word: v.querySelector('.verdict-word').textContent,
		clip: is.clipPath + ' ' + is.borderRadius, border: s.borderTopStyle, pattern: hs.backgroundImage };
})()`

// scanKeys sends text and then suffix as a keyboard-wedge scanner does
// (key by key when typed, else the text inserted at once), and waits for
// this scan's verdict on the card. It returns the card's state.
func scanKeys(t *testing.T, b *browser, text, suffix string, typed bool) map[string]string {
	t.Helper()
	total := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
	send := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if typed {
			_, err := chromedp.KeyEvent(text+suffix)(ctx, tg)
			return err
		}
		if _, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			return err
		}
		if suffix == "" {
			return nil
		}
		_, err := chromedp.KeyEvent(suffix)(ctx, tg)
		return err
	})
	b.do(t, "scan", 30*time.Second,
		send,
		waitFor(fmt.Sprintf(`Number(document.getElementById('recent').dataset.total) === %d`, total+1), 5*time.Second),
		waitFor(`!['pending', 'idle'].includes(document.getElementById('verdict').dataset.verdict)`, 15*time.Second),
	)
	return cardState(t, b)
}

// insertAndEnter scans text with Enter and does not wait for the verdict.
func insertAndEnter(t *testing.T, b *browser, text string) {
	t.Helper()
	b.do(t, "scan", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			return err
		}
		_, err := chromedp.KeyEvent("\r")(ctx, tg)
		return err
	}))
}

func cardState(t *testing.T, b *browser) map[string]string {
	t.Helper()
	return eval[map[string]string](t, b, `(() => {
		const v = document.getElementById('verdict');
		const first = document.querySelector('#recent .recent-item');
		const tech = [...v.querySelectorAll('.verdict-checks li')].map(li => li.textContent).find(s => s.startsWith('indication:')) || '';
		return { indication: v.dataset.indication, subIndication: v.dataset.subIndication, cause: v.dataset.cause, verdict: v.dataset.verdict,
			cls: v.className, text: v.innerText, hint: v.querySelector('.verdict-hint').textContent,
			first: first ? first.dataset.indication : '', sub: tech };
	})()`)
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0x20 && r < 0x7f {
			r += 0xfee0
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hasCJK(s string) bool {
	for _, r := range s {
		if r >= 0x3000 && r <= 0x9fff || r >= 0xff00 && r <= 0xffef {
			return true
		}
	}
	return false
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
