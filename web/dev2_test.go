package web_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestDevCounter(t *testing.T) {
	if os.Getenv("ELICENCE_WEB_DEV2") == "" {
		t.Skip("dev only")
	}
	var q map[string]string
	b, _ := os.ReadFile("/tmp/dev-qr.json")
	json.Unmarshal(b, &q)
	br := newBrowser(t)
	start := time.Now()
	br.do("counter", 60*time.Second,
		viewport(1366, 768, false),
		chromedp.Navigate("http://127.0.0.1:8123/counter"),
		chromedp.WaitVisible(chromedp.CSS("#scan")),
		chromedp.KeyEvent(q["good"]+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#verdict.pass")),
		screenshot(t, "/tmp", "counter-good.png"),
		chromedp.KeyEvent(q["revoked"]+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#verdict.fail")),
		screenshot(t, "/tmp", "counter-revoked.png"),
		chromedp.KeyEvent(q["pres"]+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#verdict.fail")),
		chromedp.Sleep(300*time.Millisecond),
		screenshot(t, "/tmp", "counter-pres.png"),
		viewport(390, 844, true),
		screenshot(t, "/tmp", "counter-phone.png"),
		viewport(768, 1024, false),
		screenshot(t, "/tmp", "counter-tablet.png"),
		chromedp.Navigate("http://127.0.0.1:8123/verify#"+q["good"]),
		chromedp.WaitVisible(chromedp.CSS("#verdict.pass")),
		screenshot(t, "/tmp", "verify-tablet.png"),
	)
	br.do("wallet", 60*time.Second,
		viewport(390, 844, true),
		chromedp.Navigate("http://127.0.0.1:8123/wallet#login=abc"),
		chromedp.WaitVisible(chromedp.CSS(".licence-card")),
		screenshot(t, "/tmp", "wallet-list.png"),
		chromedp.Click(chromedp.CSS("#cards .licence-card")),
		waitFor(`document.querySelector('#qr').dataset.qrText.startsWith('LP1:')`, 10*time.Second),
		screenshot(t, "/tmp", "wallet-qr.png"),
		chromedp.Click(chromedp.CSS("#annotate summary")),
		waitFor(`document.querySelectorAll('#relying option').length > 1`, 10*time.Second),
		chromedp.SetValue(chromedp.CSS("#relying"), "DEPTA"),
		chromedp.SendKeys(chromedp.CSS("#purpose"), "办理企业开户"),
		chromedp.Click(chromedp.CSS("#annotate-form button")),
		waitFor(`document.querySelector('#annotated-qr').dataset.qrText.startsWith('LA1:')`, 10*time.Second),
		screenshot(t, "/tmp", "wallet-annotated.png"),
		viewport(1366, 768, false),
		screenshot(t, "/tmp", "wallet-wide.png"),
	)
	t.Log(time.Since(start), br.logs)
}
