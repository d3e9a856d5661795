package web_test

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestDevCamera(t *testing.T) {
	if os.Getenv("ELICENCE_WEB_DEV2") == "" {
		t.Skip("dev only")
	}
	br := newBrowser(t,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", "/tmp/dev-qr.y4m"),
	)
	start := time.Now()
	br.do("camera", 30*time.Second,
		chromedp.Navigate("http://127.0.0.1:8123/counter"),
		chromedp.WaitVisible(chromedp.CSS("#scan")),
		chromedp.Click(chromedp.CSS("#camera-toggle")),
		chromedp.WaitVisible(chromedp.CSS("#verdict.pass")),
		screenshot(t, "/tmp", "counter-camera.png"),
	)
	t.Log(time.Since(start), br.logs)
}
