package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"elicence/web"
)

// TestWalletLogLine: the wallet shows, for a licence of a department that
// keeps an issuance log, where the issuer's lookup places it (in zh and
// en), and nothing for a department without a log. The API is a stand-in
// answering the wallet's contract (GET /v1/wallet/licences with "log").
func TestWalletLogLine(t *testing.T) {
	chromiumPath(t)
	licence := func(id string, log any) map[string]any {
		l := map[string]any{"id": id, "type_code": "T1", "type_name": "食品经营许可证", "holder_name": "福州榕城数字科技有限公司",
			"holder_id": "91350102MA2Y******", "issuer_code": "D1", "issuer_name": "市场监督管理局", "valid_from": "2024-03-01",
			"valid_until": nil, "status": "valid", "qr_text": "LC2:0"}
		if log != nil {
			l["log"] = log
		}
		return l
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/wallet/sign-in", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"oidc":false}`))
	})
	api.HandleFunc("POST /v1/wallet/session", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"session": "s1", "holder_name": "福州榕城数字科技有限公司",
			"expires_at": time.Now().Add(time.Hour), "departments": []string{"D1"}, "via": "link"})
	})
	api.HandleFunc("GET /v1/wallet/licences", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"licences": []any{
			licence("L-IN", map[string]any{"state": "included", "origin": "issuer.test/tlog/D1", "index": 41, "checkpoint_size": 57}),
			licence("L-MISSING", map[string]any{"state": "missing", "origin": "issuer.test/tlog/D1"}),
			licence("L-NOLOG", nil),
		}})
	})
	api.HandleFunc("POST /v1/wallet/licences/{id}/presentations", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"qr_text": "HTTP://ISSUER.TEST/V/LP2:0", "not_before": time.Now(),
			"expires_at": time.Now().Add(time.Minute), "refresh_seconds": 60})
	})
	srv := httptest.NewServer(web.AllPages().Wrap(api))
	t.Cleanup(srv.Close)

	b := newBrowser(t)
	line := func(id string) map[string]any {
		t.Helper()
		b.do(t, "open "+id, 10*time.Second,
			chromedp.Click(chromedp.CSS(`#cards .licence-card[data-id="`+id+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#show-view")),
		)
		return eval[map[string]any](t, b, `(() => { const e = document.querySelector('#show-view .card-log');
			return {hidden: e.hidden, text: e.textContent, state: e.dataset.state || ''}; })()`)
	}
	back := func() {
		b.do(t, "back", 5*time.Second, chromedp.Click(chromedp.CSS("#back")), chromedp.WaitVisible(chromedp.CSS("#cards")))
	}
	b.do(t, "sign in", 20*time.Second,
		viewport(390, 844, true),
		chromedp.Navigate(srv.URL+"/wallet#login=tok"),
		chromedp.WaitVisible(chromedp.CSS("#cards .licence-card")),
	)
	if l := line("L-IN"); l["hidden"] != false || l["state"] != "included" || l["text"] != "已记入签发日志：第 41 条，已由信任列表运营方见证（检查点 57）。" {
		t.Errorf("included: %v", l)
	}
	b.do(t, "English", 5*time.Second, chromedp.Click(chromedp.CSS("#lang-toggle")),
		waitFor(`document.querySelector('#show-view .card-log').textContent.startsWith('In the issuance log: entry 41')`, 5*time.Second),
		chromedp.Click(chromedp.CSS("#lang-toggle")))
	back()
	if l := line("L-MISSING"); l["hidden"] != false || l["state"] != "missing" || l["text"] != "签发日志中查不到此证照，请联系发证部门核实。" {
		t.Errorf("missing: %v", l)
	}
	back()
	if l := line("L-NOLOG"); l["hidden"] != true {
		t.Errorf("no log: %v", l)
	}
	if p := b.logs.problems(); len(p) > 0 {
		t.Errorf("page problems: %v", p)
	}
}
