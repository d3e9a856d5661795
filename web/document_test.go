package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"elicence/api"
	"elicence/api/verifierapi"
	"elicence/document/pdf"
	"elicence/document/pdf/pdftest"
	"elicence/identifier"
	"elicence/internal/testenv"
	"elicence/issuer"
)

// docGate sits between the browser and the running system and watches
// POST /v1/verify/document: it counts the requests and the body bytes the
// server read, can read the body slowly (as a distant server would take
// it, so that the browser's upload events come while it goes), and can
// send the upload to a verifier with a 1 KB limit instead, whose real
// problem details the page must word.
type docGate struct {
	requests atomic.Int32
	slow     atomic.Bool
	tiny     atomic.Bool
	mu       sync.Mutex
	lengths  []int64 // Content-Length of each request
	read     []int64 // body bytes the server read of each
	small    http.Handler
}

func (g *docGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/verify/document" {
			next.ServeHTTP(w, r)
			return
		}
		g.requests.Add(1)
		body := &countingReader{r: r.Body}
		if g.slow.Load() {
			body.pause = 4 * time.Millisecond
		}
		r.Body = body
		if g.tiny.Load() {
			g.small.ServeHTTP(w, r)
		} else {
			next.ServeHTTP(w, r)
		}
		g.mu.Lock()
		g.lengths = append(g.lengths, r.ContentLength)
		g.read = append(g.read, body.n)
		g.mu.Unlock()
	})
}

func (g *docGate) last() (length, read int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.lengths) == 0 {
		return 0, 0
	}
	return g.lengths[len(g.lengths)-1], g.read[len(g.read)-1]
}

// countingReader counts what is read and, with a pause, reads at most
// 64 KiB at a time, pausing before each read.
type countingReader struct {
	r     io.ReadCloser
	n     int64
	pause time.Duration
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.pause > 0 {
		time.Sleep(c.pause)
		p = p[:min(len(p), 64<<10)]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// signPDF signs a PDF as the demo department through the issuer's
// documents API and returns the stamped, signed PDF and the document's
// identifier.
func (s *system) signPDF(t *testing.T, title, number string, in []byte) ([]byte, string) {
	t.Helper()
	hdr, out := s.sign(t, title, number, "批复.pdf", in)
	if hdr.Get("Content-Type") != "application/pdf" {
		t.Fatalf("sign PDF: answered %s", hdr.Get("Content-Type"))
	}
	return out, hdr.Get("Elicence-Document-Id")
}

// dropFiles drops files on the element sel as a person dragging them from
// the file manager does: Chromium's own drag events (Input.dispatchDragEvent)
// at the element's centre, carrying the files.
func dropFiles(sel string, files ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		xy, err := chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
			const e = document.querySelector(%q); e.scrollIntoView({ block: 'center' });
			const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, sel))(ctx, tg)
		if err != nil {
			return err
		}
		data := &input.DragData{Items: []*input.DragDataItem{}, Files: files, DragOperationsMask: 1}
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := cdp.Call(ctx, tg, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: xy[0], Y: xy[1], Data: data}); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
		}
		return nil
	})
}

// TestDocumentPages: signed files on the counter and the public page, as a
// clerk and a citizen use them, against the whole system (elicence serve)
// with PDFs signed through the issuer's documents API. It proves:
//
//   - a signed PDF dropped on the counter gives the green card with its
//     title, 文号, signing department and date;
//   - one byte changed inside the signed range is red, worded as a changed
//     file; an incremental update appended after signing is red, worded as
//     content appended after the signature; a rescinded document is
//     REVOKED, 已撤回 with the time;
//   - a file over the limit is refused in the page, worded, and no request
//     reaches the server; a file that is not a PDF and has no .p7s too;
//   - a large upload shows its progress: the progress bar, as the upload
//     events move it, goes through values between 0 and the body's size
//     and ends at exactly the size the server received;
//   - the server's problem details (413 from a verifier with a smaller
//     limit, 422 for a form it refuses) are worded in the page's language,
//     never shown as the server's English;
//   - the public page takes a dropped file, and words the hash failure in
//     Chinese and English;
//   - no message is missing in either language, no page error.
//
// With UPDATE_SCREENSHOTS=1 it writes docs/screenshots/counter-document-*.png
// and verify-document-*.png.
func TestDocumentPages(t *testing.T) {
	chromiumPath(t)
	if _, err := os.Stat(pdf.DefaultFontPath); err != nil {
		testenv.Missing(t, pdf.DefaultFontPath, "apt-get install fonts-noto-cjk")
	}
	sys := startSystem(t, time.Minute)
	shots := screenshotDir(t)
	target, err := url.Parse(sys.URL)
	if err != nil {
		t.Fatal(err)
	}
	gate := &docGate{small: verifierapi.New(verifierapi.Config{MaxDocument: 1 << 10})}
	front := httptest.NewServer(gate.wrap(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(front.Close)

	const title, number = "关于同意设立分公司的批复", "闽市监〔2026〕12号"
	signed, _ := sys.signPDF(t, title, number, pdftest.OnePage("notice", 0))
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	changed := bytes.Clone(signed)
	changed[bytes.Index(changed, []byte("(notice)"))+1] ^= 0x20
	appended := append(bytes.Clone(signed), []byte("\n6 0 obj\n<< /Type /Annot >>\nendobj\n%%EOF\n")...)
	rescinded, rescindedID := sys.signPDF(t, "关于撤回设立分公司批复的通知", "闽市监〔2026〕13号", pdftest.OnePage("withdrawn", 0))
	files := map[string]string{
		"signed":    write("批复.pdf", signed),
		"changed":   write("批复-改.pdf", changed),
		"appended":  write("批复-追加.pdf", appended),
		"rescinded": write("通知.pdf", rescinded),
		"text":      write("说明.txt", []byte("这不是 PDF。\n")),
	}
	// Over the limit: a PDF header, then a hole, so the test writes
	// nothing big and the page's only reason to refuse it is its size.
	huge := write("扫描件.pdf", []byte("%PDF-1.4\n"))
	if err := os.Truncate(huge, api.DefaultMaxDocument+1<<20); err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(identifier.ChinaTime()).Format(time.DateOnly)

	b := newBrowser(t)
	b.do(t, "open the counter page", 20*time.Second,
		viewport(1366, 900, false),
		chromedp.Navigate(front.URL+"/counter"),
		chromedp.WaitVisible(chromedp.CSS("#doc-drop")),
	)
	if got := eval[string](t, b, `document.getElementById('doc-limit').textContent`); !strings.Contains(got, "50 MB") {
		t.Errorf("the counter does not state the limit before an upload: %q", got)
	}
	// drop drops files on the counter's drop zone and waits for the entry's verdict.
	drop := func(t *testing.T, paths ...string) map[string]string {
		t.Helper()
		total := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
		b.do(t, "drop "+strings.Join(paths, " "), 30*time.Second,
			dropFiles("#doc-drop", paths...),
			waitFor(fmt.Sprintf(`Number(document.getElementById('recent').dataset.total) === %d`, total+1), 10*time.Second),
			waitFor(`!['pending', 'idle'].includes(document.getElementById('verdict').dataset.verdict)`, 20*time.Second),
		)
		return cardState(t, b)
	}

	t.Run("signed PDF", func(t *testing.T) {
		c := drop(t, files["signed"])
		for _, want := range []string{title, number, "文号", issuer.DemoDepartmentName, "签署部门", today, "文件自签署后未被改动"} {
			if !strings.Contains(c["text"], want) {
				t.Errorf("the card lacks %q:\n%s", want, c["text"])
			}
		}
		if c["indication"] != "PASSED" || c["first"] != "PASSED" {
			t.Fatalf("signed PDF: %s / %s\n%s", c["indication"], c["first"], c["text"])
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-document-passed.png"))
	})
	t.Run("changed byte", func(t *testing.T) {
		c := drop(t, files["changed"])
		if c["indication"] != "FAILED" || c["subIndication"] != "HASH_FAILURE" || !strings.Contains(c["text"], "文件已被改动") {
			t.Errorf("changed byte: %s %s\n%s", c["indication"], c["subIndication"], c["text"])
		}
	})
	t.Run("appended update", func(t *testing.T) {
		c := drop(t, files["appended"])
		if c["indication"] != "FAILED" || c["subIndication"] != "TRAILING_DATA" || !strings.Contains(c["text"], "签名之后追加了内容") ||
			!strings.Contains(c["cls"], "fail") {
			t.Errorf("appended update: %s %s %s\n%s", c["indication"], c["subIndication"], c["cls"], c["text"])
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-document-appended.png"))
	})
	t.Run("rescinded", func(t *testing.T) {
		if c := drop(t, files["rescinded"]); c["indication"] != "PASSED" {
			t.Fatalf("before its rescission: %s\n%s", c["indication"], c["text"])
		}
		sys.call(t, "POST", "/v1/documents/"+rescindedID+"/rescind", sys.token, map[string]string{"reason": "withdrawn"}, nil, http.StatusOK)
		// The verifier learns of it from the status list's stream.
		var c map[string]string
		for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(300 * time.Millisecond) {
			if c = drop(t, files["rescinded"]); c["subIndication"] == "REVOKED" {
				break
			}
		}
		if c["indication"] != "FAILED" || c["subIndication"] != "REVOKED" || !regexp.MustCompile(`已撤回（\d{4}-\d{2}-\d{2} \d{2}:\d{2} 起）`).MatchString(c["text"]) {
			t.Errorf("rescinded: %s %s\n%s", c["indication"], c["subIndication"], c["text"])
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "counter-document-rescinded.png"))
	})
	t.Run("over the limit", func(t *testing.T) {
		before := gate.requests.Load()
		c := drop(t, huge)
		if c["indication"] != "UNREADABLE" || c["cause"] != "docTooLarge" || !strings.Contains(c["text"], "未核验") ||
			!strings.Contains(c["text"], "超过在线核验的上限 50 MB") || !strings.Contains(c["hint"], "文件未上传") {
			t.Errorf("over the limit: %s %s\n%s\nhint %s", c["indication"], c["cause"], c["text"], c["hint"])
		}
		time.Sleep(300 * time.Millisecond)
		if n := gate.requests.Load(); n != before {
			t.Errorf("a file over the limit reached the server: %d upload(s)", n-before)
		}
	})
	t.Run("not a PDF, no .p7s", func(t *testing.T) {
		before := gate.requests.Load()
		// Dropped alone, it waits for its .p7s.
		b.do(t, "drop a text file", 10*time.Second,
			dropFiles("#doc-drop", files["text"]),
			waitFor(`document.getElementById('doc-status').textContent.includes('不是 PDF')`, 5*time.Second),
		)
		// Verified without one, it is refused in the page.
		total := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
		b.do(t, "verify it anyway", 10*time.Second,
			chromedp.Click(chromedp.CSS("#doc-submit")),
			waitFor(fmt.Sprintf(`Number(document.getElementById('recent').dataset.total) === %d`, total+1), 5*time.Second),
			waitFor(`document.getElementById('verdict').dataset.cause === 'notPdf'`, 5*time.Second),
		)
		if c := cardState(t, b); !strings.Contains(c["text"], "不是 PDF，又没有 .p7s 签名") || !strings.Contains(c["hint"], ".p7s") {
			t.Errorf("not a PDF: %s\nhint %s", c["text"], c["hint"])
		}
		if n := gate.requests.Load(); n != before {
			t.Errorf("a file that is no PDF and has no .p7s was sent: %d upload(s)", n-before)
		}
	})
	t.Run("a scan after choosing a file", func(t *testing.T) {
		// The file input has the focus once a file was chosen; a scanner's
		// keystrokes still reach the scan input.
		b.do(t, "type with the file input focused", 10*time.Second,
			chromedp.Focus(chromedp.CSS("#doc-file")),
			chromedp.KeyEvent("LC2:ABC"),
		)
		if got := eval[string](t, b, `document.activeElement.id + '|' + document.getElementById('scan').value`); got != "scan|LC2:ABC" {
			t.Errorf("focus and scan input after typing on the file input: %q", got)
		}
		eval[string](t, b, `document.getElementById('scan').value = ''`)
	})
	t.Run("server problems", func(t *testing.T) {
		// A verifier with a smaller limit than the page's answers 413.
		gate.tiny.Store(true)
		c := drop(t, files["signed"])
		gate.tiny.Store(false)
		if c["indication"] != "UNREADABLE" || c["cause"] != "docTooLargeServer" || !strings.Contains(c["text"], "核验服务拒收") || strings.Contains(c["text"], "larger than") {
			t.Errorf("413: %s %s\n%s", c["indication"], c["cause"], c["text"])
		}
		// Forms the server refuses with 422, sent by the page's own code:
		// each problem's field and reason worded, never the English.
		got := eval[[][]string](t, b, `(async () => {
			const v = await import('/static/verdict.js');
			const send = async (parts) => {
				const fd = new FormData();
				for (const [k, body] of parts) fd.append(k, new Blob([body]), k + '.bin');
				const r = await fetch('/v1/verify/document', { method: 'POST', body: fd });
				const o = v.outcome({ ok: false, status: r.status, problem: await r.json() }, '', { name: 'a.pdf', size: 1, sig: true });
				return [String(r.status), o.cause, v.word(o), v.reason(o), v.hint(o)];
			};
			return [await send([['signature', 'x']]), await send([['file', 'x'], ['signature', '']]),
				await send([['file', 'x'], ['image', 'y']]), await send([['file', 'x'], ['file', 'y']])];
		})()`)
		want := []string{"docMissing", "sigEmpty", "docPartUnknown", "docPartTwice"}
		for i, g := range got {
			if g[0] != "422" || g[1] != want[i] || g[2] != "未核验" || !hasCJK(g[3]) || !hasCJK(g[4]) || strings.Contains(g[3], "{") ||
				regexp.MustCompile(`required|empty|unknown part|more than once`).MatchString(g[3]) {
				t.Errorf("problem %d: %q, want 422 %s worded in Chinese", i, g, want[i])
			}
		}
	})
	t.Run("progress of a large upload", func(t *testing.T) {
		big := make([]byte, 12<<20)
		rand.Read(big)
		_, sig := sys.signFile(t, "年度统计报表", "闽统〔2026〕3号", big)
		bigFile, sigFile := write("统计报表.bin", big), write("统计报表.bin.p7s", sig)
		gate.slow.Store(true)
		defer gate.slow.Store(false)
		// Record every value the progress bar takes.
		eval[bool](t, b, `(() => {
			const p = document.getElementById('doc-progress');
			window.progressSeen = [];
			new MutationObserver(() => window.progressSeen.push([p.value, p.max])).observe(p, { attributes: true, attributeFilter: ['value'] });
			return true; })()`)
		total := eval[int](t, b, `Number(document.getElementById('recent').dataset.total)`)
		b.do(t, "drop a large file and its .p7s", 60*time.Second,
			dropFiles("#doc-drop", bigFile, sigFile),
			// Mid-upload: the bar and its words, for the screenshot.
			waitFor(`(() => { const p = document.getElementById('doc-progress');
				return !document.getElementById('doc-upload').hidden && p.value > p.max / 5; })()`, 20*time.Second),
			screenshot(t, shots, "counter-document-progress.png"),
			waitFor(fmt.Sprintf(`Number(document.getElementById('recent').dataset.total) === %d`, total+1), 10*time.Second),
			waitFor(`!['pending', 'idle'].includes(document.getElementById('verdict').dataset.verdict)`, 30*time.Second),
		)
		c := cardState(t, b)
		if c["indication"] != "PASSED" || !strings.Contains(c["text"], "年度统计报表") {
			t.Fatalf("large upload: %s\n%s", c["indication"], c["text"])
		}
		seen := eval[[][]float64](t, b, `window.progressSeen`)
		length, read := gate.last()
		if len(seen) == 0 {
			t.Fatal("the progress bar never moved")
		}
		last := seen[len(seen)-1]
		between := map[float64]bool{}
		for _, s := range seen {
			if s[0] > 0 && s[0] < s[1] {
				between[s[0]] = true
			}
		}
		if int64(last[0]) != length || int64(last[1]) != length || read != length || length < int64(len(big)+len(sig)) || len(between) < 3 {
			t.Errorf("progress %v (%d values between 0 and the end); the server was sent %d bytes and read %d; the files are %d bytes",
				last, len(between), length, read, len(big)+len(sig))
		}
		if !eval[bool](t, b, `document.getElementById('doc-upload').hidden`) {
			t.Error("the progress bar stays after the answer")
		}
	})

	t.Run("words of other verdicts", func(t *testing.T) {
		// Verdicts this system cannot be made to give here (a department
		// not authorised, a forged signature, an unknown key, status
		// unavailable, a file the page let through that is no PDF), worded
		// from reports of the verifier's shape.
		got := eval[[][]string](t, b, `(async () => {
			const v = await import('/static/verdict.js');
			const pdf = { name: '批复.pdf', size: 9, sig: false }, p7s = { name: 'a.txt', size: 9, sig: true };
			const card = (indication, sub, upload, status) => {
				const o = v.outcome({ ok: true, data: { indication, sub_indication: sub, kind: 'document receipt', status,
					verified_at: '2026-12-02T06:00:00Z' } }, upload ? '' : 'LD2:X', upload);
				return [sub, v.indicationOf(o), String(v.retryable(o)), v.reason(o), v.hint(o)];
			};
			return [card('INDETERMINATE', 'TRY_LATER', pdf), card('FAILED', 'TYPE_NOT_AUTHORISED', pdf),
				card('FAILED', 'SIG_CRYPTO_FAILURE', p7s), card('FAILED', 'UNKNOWN_KEY', pdf),
				card('FAILED', 'UNSUPPORTED_FORMAT', pdf), card('FAILED', 'FORMAT_FAILURE', pdf), card('FAILED', 'FORMAT_FAILURE', p7s),
				card('FAILED', 'HASH_FAILURE', p7s), card('FAILED', 'TRAILING_DATA', null),
				card('FAILED', 'REVOKED', null, { value: 'revoked', reason: 'issued_in_error', changed_at: '2026-12-01T02:03:00Z' })];
		})()`)
		want := [][3]string{
			{"INDETERMINATE", "true", "撤回状态"},
			{"FAILED", "false", "该部门无权签署文件"},
			{"FAILED", "false", "签名验证失败"},
			{"FAILED", "false", "无法确认文件来源"},
			{"UNREADABLE", "false", "“批复.pdf”不是 PDF，又没有 .p7s 签名"},
			{"UNREADABLE", "false", "没有可核验的电子签名"},
			{"UNREADABLE", "false", ".p7s 文件不是本系统的电子签名"},
			{"FAILED", "false", "不是这个 .p7s 所签的文件"},
			{"UNREADABLE", "false", "两次扫描"}, // a scanned receipt: two scans run together
			{"FAILED", "false", "已撤回（签署有误）（2026-12-01 10:03 起）"},
		}
		if len(got) != len(want) {
			t.Fatalf("%d cards, want %d", len(got), len(want))
		}
		for i, g := range got {
			if g[1] != want[i][0] || g[2] != want[i][1] || !strings.Contains(g[3], want[i][2]) || strings.Contains(g[3]+g[4], "{") {
				t.Errorf("%s: %q, want %s retry %s with %q", g[0], g[1:], want[i][0], want[i][1], want[i][2])
			}
		}
	})

	t.Run("a key compromised since signing, proven by the issuance log", func(t *testing.T) {
		// The card names the checkpoint that let key_state pass (report
		// field log_proof), so the clerk sees why a compromised key's
		// licence is green.
		got := eval[string](t, b, `import('/static/verdict.js').then(v => JSON.stringify(v.rows({ indication: 'PASSED',
			kind: 'credential', issuer: { code: 'D', name: '示例局' },
			log_proof: { origin: 'h/tlog/D', size: 300, root: 'x', index: 41, witness: 'w', cosigned_at: '2026-12-01T02:03:00Z', source: 'http' } })))`)
		if !strings.Contains(got, "签发日志") || !strings.Contains(got, "2026-12-01 10:03 前已记入签发日志（第 42 条，检查点 300 条）") {
			t.Errorf("card rows with a log proof: %s", got)
		}
		if got := eval[string](t, b, `import('/static/verdict.js').then(v => JSON.stringify(v.rows({ indication: 'PASSED', kind: 'credential' })))`); strings.Contains(got, "签发日志") {
			t.Errorf("card rows without a log proof name the log: %s", got)
		}
	})

	// The public page: a dropped file, and the words in both languages.
	b.do(t, "open the public page", 20*time.Second,
		viewport(1280, 900, false),
		chromedp.Navigate(front.URL+"/verify"),
		chromedp.WaitVisible(chromedp.CSS("#doc-drop")),
	)
	publicDrop := func(path string) map[string]string {
		eval[string](t, b, `document.getElementById('verdict').dataset.indication = ''`)
		b.do(t, "drop on the public page", 30*time.Second,
			dropFiles("#doc-drop", path),
			waitFor(`['PASSED','FAILED','INDETERMINATE','UNREADABLE'].includes(document.getElementById('verdict').dataset.indication)`, 20*time.Second),
		)
		return cardState(t, b)
	}
	if c := publicDrop(files["signed"]); c["indication"] != "PASSED" || !strings.Contains(c["text"], number) || !strings.Contains(c["text"], issuer.DemoDepartmentName) {
		t.Errorf("public page, signed PDF: %s\n%s", c["indication"], c["text"])
	}
	if c := publicDrop(files["changed"]); c["subIndication"] != "HASH_FAILURE" || !strings.Contains(c["text"], "文件已被改动") {
		t.Errorf("public page, changed byte: %s\n%s", c["subIndication"], c["text"])
	}
	b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "verify-document-hash-failure.png"))
	b.do(t, "English", 10*time.Second,
		chromedp.Click(chromedp.CSS("#lang-toggle")),
		waitFor(`document.documentElement.lang === 'en'`, 5*time.Second),
	)
	if c := cardState(t, b); !strings.Contains(c["text"], "The file was changed after signing") || hasCJK(strings.ReplaceAll(c["text"], filepath.Base(files["changed"]), "")) ||
		!strings.Contains(eval[string](t, b, `document.getElementById('doc-limit').textContent`), "At most 50 MB") {
		t.Errorf("public page in English:\n%s", c["text"])
	}
	b.do(t, "back to Chinese", 10*time.Second,
		chromedp.Click(chromedp.CSS("#lang-toggle")),
		waitFor(`document.documentElement.lang === 'zh-CN'`, 5*time.Second),
	)

	// Every message the card can build from data, in both languages.
	if m := eval[[]string](t, b, `Promise.all([import('/static/verdict.js'), import('/static/i18n.js')]).then(([v, i]) =>
		v.messageKeys().filter(k => !(k in i.messages.zh) || !(k in i.messages.en)))`); len(m) > 0 {
		t.Errorf("verdict.js messageKeys() missing in a language: %q", m)
	}
	if m := eval[[]string](t, b, `import('/static/i18n.js').then(m => [...m.missing])`); len(m) > 0 {
		t.Errorf("messages missing in a language: %q", m)
	}
	if p := b.logs.problems(); len(p) > 0 {
		t.Errorf("page console problems:\n%s", strings.Join(p, "\n"))
	}
}
