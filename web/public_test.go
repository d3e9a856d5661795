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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"elicence/internal/testenv"
	"elicence/qr"
)

// publicCard reads the public page's verdict card.
func publicCard(t *testing.T, b *browser) map[string]string {
	t.Helper()
	return eval[map[string]string](t, b, `(() => {
		const v = document.getElementById('verdict');
		return { indication: v.dataset.indication || '', subIndication: v.dataset.subIndication || '', cause: v.dataset.cause || '',
			cls: v.className, text: v.innerText, hint: (v.querySelector('.verdict-hint') || {}).textContent || '',
			retry: String(!document.querySelector('#verdict .verdict-actions').hidden) };
	})()`)
}

// TestPublicQRURL follows the QR code an issuer now prints: a QR URL of
// the public verification page that carries the signed credential
// (docs/FORMAT.md §4.2). It proves, with real tools:
//
//   - the issued QR text is an upper-case URL under the issuer's public
//     URL, in QR alphanumeric mode, and zbarimg decodes the PNG the API
//     renders to exactly that text;
//   - Chromium, as a phone camera hands it the URL, opens the page (its
//     location.pathname is the text, unchanged) and shows the green
//     verdict, on a 390×844 phone;
//   - the counter page verifies the same text as a scanner types it;
//   - on the public page, a hung verifier gives the amber 无法确定 card
//     within the deadline, with a retry, and the late answer never turns it
//     green; input that is no e-licence code gets the neutral 未能识别 card
//     with its hint;
//   - an annotated copy's QR URL opened there is shown amber as the copy
//     it is, for the department it names, never accepted on its behalf.
//
// With UPDATE_SCREENSHOTS=1 it writes docs/screenshots/verify-phone-*.png.
func TestPublicQRURL(t *testing.T) {
	chromiumPath(t)
	zbarimg := testenv.RequireTool(t, "zbarimg", "zbar-tools")
	sys := startSystem(t, time.Minute)
	shots := screenshotDir(t)

	holder := usccFor(t, "91350102MA2Y7K8L4")
	biz := sys.issue(t, map[string]any{
		"type": sys.businessType, "holder_name": "福州榕城数字科技有限公司", "holder_id": holder,
		"valid_from": "2024-03-01", "valid_until": "长期",
		"fields": map[string]string{"lr": "林晓燕", "ra": "福州市鼓楼区五四路 100 号"},
	})
	base := strings.ToUpper(sys.URL) + "/V/"
	if !strings.HasPrefix(biz.QRText, base+"LC2:") {
		t.Fatalf("issued QR text %q, want a QR URL under %s", biz.QRText, base)
	}
	if _, err := qr.VersionFor(biz.QRText, qr.LevelM); err != nil {
		t.Fatalf("the QR URL is not QR alphanumeric text: %v", err)
	}

	t.Run("zbarimg", func(t *testing.T) {
		req, _ := http.NewRequest("GET", sys.URL+"/v1/licences/"+url.PathEscape(biz.ID)+"/qr.png", nil)
		req.Header.Set("Authorization", "Bearer "+sys.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		png, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("qr.png: %d %s", resp.StatusCode, png)
		}
		file := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", file).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != biz.QRText {
			t.Fatalf("zbarimg read\n%q\nwant the QR text\n%q", got, biz.QRText)
		}
	})

	b := newBrowser(t)
	t.Run("phone camera", func(t *testing.T) {
		// What a phone camera or WeChat does with the code: open the URL.
		b.do(t, "open the QR URL", 20*time.Second,
			viewport(390, 844, true),
			chromedp.Navigate(biz.QRText),
			waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 10*time.Second),
		)
		text := biz.QRText[len(base):]
		if got := eval[string](t, b, `location.pathname`); got != "/V/"+text {
			t.Fatalf("Chromium's location.pathname is\n%q\nwant the text unchanged\n%q", got, "/V/"+text)
		}
		c := publicCard(t, b)
		if !strings.Contains(c["text"], "通过") || !strings.Contains(c["text"], "营业执照") || !strings.Contains(c["text"], "福州榕城数字科技有限公司") {
			t.Fatalf("the page a phone opens shows:\n%s", c["text"])
		}
		b.do(t, "screenshot", 10*time.Second, screenshot(t, shots, "verify-phone-390x844.png"))
	})

	t.Run("counter", func(t *testing.T) {
		b.do(t, "open the counter page", 20*time.Second,
			viewport(1366, 768, false),
			chromedp.Navigate(sys.URL+"/counter"),
			chromedp.WaitVisible(chromedp.CSS("#scan")),
		)
		insertAndEnter(t, b, biz.QRText)
		b.do(t, "verdict", 10*time.Second, waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 10*time.Second))
		if c := cardState(t, b); !strings.Contains(c["text"], "营业执照") {
			t.Errorf("the counter's card for the QR URL:\n%s", c["text"])
		}
	})

	target, err := url.Parse(sys.URL)
	if err != nil {
		t.Fatal(err)
	}
	gate := &verifyGate{}
	front := httptest.NewServer(gate.wrap(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(front.Close)
	t.Cleanup(gate.release)
	// The same text under the gate's host: the host is not trusted, only
	// the signatures are, so the text verifies wherever the page is.
	onFront := front.URL + "/V/" + biz.QRText[len(base):]

	t.Run("hung server", func(t *testing.T) {
		gate.next(gateStep{hold: true})
		start := time.Now()
		b.do(t, "open the QR URL", 20*time.Second,
			viewport(390, 844, true),
			chromedp.Navigate(onFront),
			waitFor(`document.getElementById('verdict').dataset.indication === 'INDETERMINATE'`, 10*time.Second),
		)
		took := time.Since(start)
		c := publicCard(t, b)
		if c["subIndication"] != "TIMEOUT" || !strings.Contains(c["text"], "无法确定") || c["retry"] != "true" {
			t.Fatalf("hung verifier: card %v, want amber 无法确定 with a retry:\n%s", c, c["text"])
		}
		if took > 10*time.Second {
			t.Errorf("the amber card came %s after opening the page", took)
		}
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
		gate.release()
		b.do(t, "wait", 5*time.Second, chromedp.Sleep(1500*time.Millisecond))
		if got := publicCard(t, b)["indication"]; got != "INDETERMINATE" {
			t.Fatalf("after the late answer the card is %s, want still INDETERMINATE", got)
		}
		b.do(t, "retry", 15*time.Second,
			chromedp.Click(chromedp.CSS("#verdict .verdict-retry")),
			waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 10*time.Second),
		)
	})

	t.Run("unreadable", func(t *testing.T) {
		for _, in := range []struct {
			name, path, paste, cause, hint string
		}{
			{"foreign URL path", "/V/HELLO", "", "foreign", "出示电子证照上的二维码"},
			{"truncated", "/V/" + biz.QRText[len(base):len(base)+60], "", "", "重新扫描"},
			{"full-width colon", "", "LC2\uff1a" + biz.QRText[len(base)+4:], "ime", "输入法切换到英文"},
			{"another system's code", "", "https://weixin.qq.com/r/AbCdEfGh12345", "foreign", "出示电子证照上的二维码"},
		} {
			t.Run(in.name, func(t *testing.T) {
				steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(sys.URL + "/verify")}
				if in.path != "" {
					steps = []chromedp.Action[chromedp.Void]{chromedp.Navigate(sys.URL + in.path)}
				}
				steps = append(steps, chromedp.WaitVisible(chromedp.CSS("#qr-text")))
				if in.paste != "" {
					steps = append(steps,
						chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('qr-text').value = %s`, jsString(in.paste))),
						chromedp.Click(chromedp.CSS(`#verify-form button[type=submit]`)),
					)
				}
				steps = append(steps, waitFor(`document.getElementById('verdict').dataset.indication === 'UNREADABLE'`, 10*time.Second))
				b.do(t, in.name, 20*time.Second, steps...)
				c := publicCard(t, b)
				if strings.Contains(c["cls"], "fail") || !strings.Contains(c["text"], "未能识别") || strings.Contains(c["text"], "不通过") {
					t.Fatalf("%s: card %v, want the neutral 未能识别 card:\n%s", in.name, c, c["text"])
				}
				if in.cause != "" && c["cause"] != in.cause {
					t.Errorf("%s: cause %q, want %q", in.name, c["cause"], in.cause)
				}
				if !strings.Contains(c["hint"], in.hint) {
					t.Errorf("%s: hint %q, want it to say %q", in.name, c["hint"], in.hint)
				}
			})
		}
	})
	t.Run("annotated copy", func(t *testing.T) {
		// An annotated copy for the second demo department, opened from its
		// QR URL on the public page, which acts for no department: shown as
		// the copy it is, amber, never green and never red.
		link := sys.holderLink(t, holder)
		var sess struct {
			Session string `json:"session"`
		}
		sys.call(t, "POST", "/v1/wallet/session", "", map[string]string{"login_token": strings.TrimPrefix(link, "/wallet#login=")}, &sess, http.StatusOK)
		var copy struct {
			QRText string `json:"qr_text"`
		}
		sys.call(t, "POST", "/v1/wallet/licences/"+url.PathEscape(biz.ID)+"/annotated-copies", sess.Session,
			map[string]any{"relying_department": sys.relyingDept, "purpose": "办理银行开户", "expires_in_days": 7}, &copy, http.StatusCreated)
		if !strings.HasPrefix(copy.QRText, base+"LA2:") {
			t.Fatalf("annotated copy QR text %.40q, want a QR URL", copy.QRText)
		}
		b.do(t, "open the copy's QR URL", 20*time.Second,
			viewport(390, 844, true),
			chromedp.Navigate(copy.QRText),
			waitFor(`['INDETERMINATE', 'PASSED', 'FAILED'].includes(document.getElementById('verdict').dataset.indication)`, 10*time.Second),
		)
		c := publicCard(t, b)
		if c["indication"] != "INDETERMINATE" || strings.Contains(c["cls"], "fail") || strings.Contains(c["cls"], "pass") || c["retry"] == "true" {
			t.Fatalf("annotated copy on the public page: card %v:\n%s", c, c["text"])
		}
		if !strings.Contains(c["text"], "加注件") || !strings.Contains(c["text"], "办理银行开户") || !strings.Contains(c["hint"], "不代表任何部门") {
			t.Errorf("the card does not say what the copy is:\n%s\nhint %s", c["text"], c["hint"])
		}
	})
	if p := b.logs.problems(); len(p) > 0 {
		t.Errorf("page console problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestPublicDocumentUpload: the public verification page takes a file and
// its .p7s, and shows the verdict card with the document's title and
// number; a changed file is red. The receipt's QR URL opens the page with
// the same document.
func TestPublicDocumentUpload(t *testing.T) {
	chromiumPath(t)
	sys := startSystem(t, time.Minute)
	content := []byte("兹同意福州榕城数字科技有限公司设立分公司。\n")
	receipt, sig := sys.signFile(t, "关于同意设立分公司的批复", "闽市监〔2026〕12号", content)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file, sigFile := write("notice.txt", content), write("notice.txt.p7s", sig)
	changed := write("changed.txt", append(bytes.Clone(content), 'x'))
	b := newBrowser(t)
	b.do(t, "open the verification page", 20*time.Second,
		viewport(1280, 900, false),
		chromedp.Navigate(sys.URL+"/verify"),
		chromedp.WaitVisible(chromedp.CSS("#doc-file")),
	)
	upload := func(doc string) map[string]string {
		t.Helper()
		eval[string](t, b, `document.getElementById('verdict').dataset.indication = ''`)
		b.do(t, "upload "+doc, 20*time.Second,
			chromedp.SetUploadFiles(chromedp.CSS("#doc-file"), []string{doc}),
			chromedp.SetUploadFiles(chromedp.CSS("#doc-sig"), []string{sigFile}),
			chromedp.Click(chromedp.CSS("#doc-form button[type=submit]")),
			waitFor(`['PASSED','FAILED','INDETERMINATE','UNREADABLE'].includes(document.getElementById('verdict').dataset.indication)`, 15*time.Second),
		)
		return map[string]string{
			"indication": eval[string](t, b, `document.getElementById('verdict').dataset.indication`),
			"text":       eval[string](t, b, `document.getElementById('verdict').innerText`),
			"checks":     eval[string](t, b, `document.querySelector('#verdict .verdict-checks').textContent`),
		}
	}
	if c := upload(file); c["indication"] != "PASSED" || !strings.Contains(c["text"], "关于同意设立分公司的批复") || !strings.Contains(c["text"], "闽市监〔2026〕12号") {
		t.Errorf("the signed file: %s\n%s\n%s", c["indication"], c["text"], c["checks"])
	}
	if c := upload(changed); c["indication"] != "FAILED" {
		t.Errorf("a changed file: %s\n%s", c["indication"], c["text"])
	}
	b.do(t, "open the receipt's QR URL", 20*time.Second,
		chromedp.Navigate(receipt),
		waitFor(`document.getElementById('verdict').dataset.indication === 'PASSED'`, 10*time.Second),
	)
	if text := eval[string](t, b, `document.getElementById('verdict').innerText`); !strings.Contains(text, "闽市监〔2026〕12号") {
		t.Errorf("the receipt's page: %s", text)
	}
	if m := eval[[]string](t, b, `import('/static/i18n.js').then(m => [...m.missing])`); len(m) > 0 {
		t.Errorf("messages missing in a language: %q", m)
	}
}
