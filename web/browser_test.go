package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"elicence/internal/testenv"
)

// browser is one headless Chromium with a fresh profile.
type browser struct {
	ctx  context.Context // the browser's first tab
	logs *consoleLog
}

// consoleLog collects what pages log and throw, and what the browser logs
// (a Content-Security-Policy violation is one), for failure messages and
// for asserting that no page has a script error.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *consoleLog) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *consoleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// problems returns what the log shows went wrong in a page: uncaught
// exceptions, anything the Content-Security-Policy blocked, and requests
// for missing files or that failed on the server. (A request that fails
// because a test took the network away is not one.)
func (l *consoleLog) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		switch {
		case strings.HasPrefix(s, "exception"),
			strings.Contains(s, "Content Security Policy"), strings.Contains(s, "Refused to"),
			strings.Contains(s, "status of 404"), strings.Contains(s, "status of 5"):
			out = append(out, s)
		}
	}
	return out
}

// chromiumPath returns Debian's chromium, failing in CI and skipping
// locally when it is missing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return testenv.RequireTool(t, "chromium", "chromium")
}

// newBrowser starts Chromium with the flags needed as root with no outside
// network, plus extra flags (e.g. the fake camera).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	}
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	logs := &consoleLog{}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			logs.add(fmt.Sprintf("%s: %s", m.Type, m.Text))
		}
	}()
	return &browser{ctx: ctx, logs: logs}
}

// do runs steps with a deadline, failing the test with the page's console
// on error.
func (b *browser) do(t *testing.T, what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage console:\n%s", what, err, b.logs)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v\npage console:\n%s", expr, err, b.logs)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy.
func waitFor(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))
}

// viewport sets the page size as a counter PC (desktop) or a phone or
// tablet (mobile, touch, 2× pixels) of that size would see it.
func viewport(w, h int64, mobile bool) chromedp.Action[chromedp.Void] {
	if mobile {
		return chromedp.EmulateViewport(w, h, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	return chromedp.EmulateViewport(w, h)
}

// noSidewaysScroll fails if the page is wider than the viewport.
func noSidewaysScroll() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		w, err := chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, innerWidth]`)(ctx, tg)
		if err != nil {
			return err
		}
		if w[0] > w[1] {
			return fmt.Errorf("the page is %d px wide in a %d px viewport", w[0], w[1])
		}
		return nil
	})
}

// screenshot checks that the page fits the viewport's width and saves the
// viewport as PNG to dir/name.
func screenshot(t *testing.T, dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := noSidewaysScroll()(ctx, tg); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// Let web fonts and the last layout settle.
		if _, err := chromedp.Evaluate[chromedp.Void](`document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)(ctx, tg); err != nil {
			return err
		}
		b, err := chromedp.CaptureScreenshot()(ctx, tg)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		t.Logf("screenshot %s", p)
		return nil
	})
}

// screenshotDir is docs/screenshots when UPDATE_SCREENSHOTS=1, so that the
// README's images are made by these tests; otherwise a temporary directory,
// so that a test run leaves the work tree alone.
func screenshotDir(t *testing.T) string {
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		d := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}
