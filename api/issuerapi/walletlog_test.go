package issuerapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/tlog"
	"elicence/verifier/verifiertest"
)

// TestWalletLogPosition: the wallet tells the holder where each licence is
// in its department's issuance log, as the log's lookup answers (a test
// server serving the issuer's lookup contract): in a co-signed checkpoint,
// logged but not yet co-signed, not in the log, or the log unavailable.
func TestWalletLogPosition(t *testing.T) {
	st := issuertest.Backends()[0].Open(t)
	w := verifiertest.NewWorld(t)
	lg := w.NewLog(t, w.Depts[0], func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) })
	lookup := func(ctx context.Context, dept string, leafHash []byte) (*format.DepartmentLog, tlog.Position, error) {
		if dept != issuertest.Dept {
			return nil, tlog.Position{}, nil
		}
		pos, err := LookupLog(ctx, http.DefaultClient, w.Depts[0].Log, leafHash)
		return w.Depts[0].Log, pos, err
	}
	e := newEnv(t, st, issuer.Config{}, Config{LogLookup: lookup})
	mine := e.issue(refDriving)
	token := e.loginToken(t, citizenID)
	var s issuer.WalletSession
	e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`).json(t, &s)
	logOf := func() *walletLogJSON {
		t.Helper()
		var list struct {
			Licences []walletLicenceJSON `json:"licences"`
		}
		r := e.req("GET", "/v1/wallet/licences", s.Session, nil)
		r.json(t, &list)
		if r.status != 200 || len(list.Licences) != 1 {
			t.Fatalf("wallet: %d %s", r.status, r.body)
		}
		return list.Licences[0].Log
	}
	if l := logOf(); l == nil || l.State != logMissing || l.Origin != lg.Origin || l.Index != nil {
		t.Fatalf("not logged: %+v", l)
	}
	q, err := format.ParseQR(mine.QRText)
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(tlog.KindCredential, []byte("another licence"))
	lg.Append(tlog.KindCredential, q.Envelope)
	if l := logOf(); l == nil || l.State != logPending || *l.Index != 1 || l.CheckpointSize != nil {
		t.Fatalf("logged: %+v", l)
	}
	lg.Checkpoint()
	if l := logOf(); l == nil || l.State != logIncluded || *l.Index != 1 || *l.CheckpointSize != 2 {
		t.Fatalf("co-signed: %+v", l)
	}
	lg.Failing.Store(true)
	if l := logOf(); l == nil || l.State != logUnavailable {
		t.Fatalf("log down: %+v", l)
	}
	if !strings.Contains(e.logs.String(), "issuance log lookup failed") {
		t.Error("failed lookup not logged")
	}
}

// TestWalletNoLog: a department without a log shows no log line.
func TestWalletNoLog(t *testing.T) {
	e := newEnv(t, issuertest.Backends()[0].Open(t), issuer.Config{}, Config{})
	e.issue(refDriving)
	token := e.loginToken(t, citizenID)
	var s issuer.WalletSession
	e.req("POST", "/v1/wallet/session", "", `{"login_token":"`+token+`"}`).json(t, &s)
	r := e.req("GET", "/v1/wallet/licences", s.Session, nil)
	if r.status != 200 || strings.Contains(string(r.body), `"log"`) {
		t.Fatalf("wallet: %d %s", r.status, r.body)
	}
}
