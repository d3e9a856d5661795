package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"elicence/issuer/store"
)

func walletGrant() store.WalletGrant {
	return store.WalletGrant{
		HolderCode: "110101199003074258", HolderName: "张三", Departments: []string{deptA},
		Via: "link", LinkDepartment: deptA, LinkToken: "tok-a",
	}
}

// testWallet covers links and sessions: a link is redeemed once, and only
// before it expires; a session is found by its secret's hash only, its
// secret can be rotated once per old secret, and it can be revoked once.
func testWallet(t *testing.T, f *fixture) {
	now := base
	link := store.WalletLink{ID: "hl_1", SecretHash: secretHash("link-secret"), Grant: walletGrant(), ExpiresAt: now.Add(time.Hour)}
	n0 := f.auditLen()
	got, err := f.s.CreateWalletLink(f.ctx, link, ev("holder_link.create", deptA))
	if err != nil {
		t.Fatalf("CreateWalletLink: %v", err)
	}
	if got.Grant.LinkID != "hl_1" || got.CreatedAt.IsZero() {
		t.Errorf("CreateWalletLink = %+v, want LinkID hl_1 and a creation time", got)
	}
	_, err = f.s.CreateWalletLink(f.ctx, link, ev("holder_link.create", deptA))
	wantErr(t, "duplicate link", err, store.ErrDuplicate)
	bad := link
	bad.ID, bad.SecretHash = "hl_2", []byte("short")
	_, err = f.s.CreateWalletLink(f.ctx, bad, ev("holder_link.create", deptA))
	wantErr(t, "short hash", err, store.ErrInvalid)
	if n := f.auditLen(); n != n0+1 {
		t.Errorf("audit entries after one link: %d, want %d", n, n0+1)
	}

	session := func(l store.WalletLink) (store.WalletSession, store.AuditEvent, error) {
		g := l.Grant
		return store.WalletSession{ID: "ws_1", SecretHash: secretHash("session-1"), Grant: g, ExpiresAt: now.Add(30 * 24 * time.Hour)},
			ev("wallet.session", deptA), nil
	}
	_, err = f.s.RedeemWalletLink(f.ctx, secretHash("link-secret"), now.Add(time.Hour), session)
	wantErr(t, "expired link", err, store.ErrNotFound)
	_, err = f.s.RedeemWalletLink(f.ctx, secretHash("other"), now, session)
	wantErr(t, "unknown link", err, store.ErrNotFound)
	boom := errors.New("boom")
	_, err = f.s.RedeemWalletLink(f.ctx, secretHash("link-secret"), now, func(store.WalletLink) (store.WalletSession, store.AuditEvent, error) {
		return store.WalletSession{}, store.AuditEvent{}, boom
	})
	wantErr(t, "failing build", err, boom)

	// Two concurrent redemptions: exactly one session.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	sessions := make([]store.WalletSession, 2)
	for i := range 2 {
		wg.Go(func() {
			sessions[i], errs[i] = f.s.RedeemWalletLink(f.ctx, secretHash("link-secret"), now, func(l store.WalletLink) (store.WalletSession, store.AuditEvent, error) {
				ws, a, err := session(l)
				ws.ID = []string{"ws_1", "ws_2"}[i]
				ws.SecretHash = secretHash(ws.ID)
				return ws, a, err
			})
		})
	}
	wg.Wait()
	var ws store.WalletSession
	switch {
	case errs[0] == nil && errors.Is(errs[1], store.ErrNotFound):
		ws = sessions[0]
	case errs[1] == nil && errors.Is(errs[0], store.ErrNotFound):
		ws = sessions[1]
	default:
		t.Fatalf("two redemptions of one link: %v, %v; want one success and one ErrNotFound", errs[0], errs[1])
	}
	if !same(ws.Grant, walletGrantWithLink()) {
		t.Errorf("session grant = %+v, want %+v", ws.Grant, walletGrantWithLink())
	}
	if !ws.Usable(now) || ws.Usable(ws.ExpiresAt) {
		t.Errorf("session usable at %v: %v, at its expiry: %v", now, ws.Usable(now), ws.Usable(ws.ExpiresAt))
	}

	byHash, err := f.s.WalletSessionByHash(f.ctx, secretHash(ws.ID))
	if err != nil || !same(byHash, ws) {
		t.Errorf("WalletSessionByHash = %+v, %v; want %+v", byHash, err, ws)
	}
	_, err = f.s.WalletSessionByHash(f.ctx, secretHash("nope"))
	wantErr(t, "unknown session", err, store.ErrNotFound)

	// Refresh rotates the secret: the old one stops working.
	exp := now.Add(60 * 24 * time.Hour)
	r, err := f.s.RefreshWalletSession(f.ctx, ws.ID, secretHash(ws.ID), secretHash("rotated"), exp, ev("wallet.refresh", ws.ID))
	if err != nil || !r.ExpiresAt.Equal(store.Timestamp(exp)) || r.RefreshedAt.IsZero() {
		t.Fatalf("RefreshWalletSession = %+v, %v", r, err)
	}
	_, err = f.s.WalletSessionByHash(f.ctx, secretHash(ws.ID))
	wantErr(t, "old secret after refresh", err, store.ErrNotFound)
	_, err = f.s.RefreshWalletSession(f.ctx, ws.ID, secretHash(ws.ID), secretHash("again"), exp, ev("wallet.refresh", ws.ID))
	wantErr(t, "second refresh with the old secret", err, store.ErrNotFound)
	if got, err := f.s.WalletSessionByHash(f.ctx, secretHash("rotated")); err != nil || got.ID != ws.ID {
		t.Errorf("session by rotated secret = %+v, %v", got, err)
	}

	rv, err := f.s.RevokeWalletSession(f.ctx, ws.ID, ev("wallet.signout", ws.ID))
	if err != nil || rv.RevokedAt.IsZero() || rv.Usable(now) {
		t.Fatalf("RevokeWalletSession = %+v, %v", rv, err)
	}
	_, err = f.s.RevokeWalletSession(f.ctx, ws.ID, ev("wallet.signout", ws.ID))
	wantErr(t, "second revocation", err, store.ErrInvalidTransition)
	_, err = f.s.RevokeWalletSession(f.ctx, "ws_none", ev("wallet.signout", "ws_none"))
	wantErr(t, "unknown session", err, store.ErrNotFound)
	_, err = f.s.RefreshWalletSession(f.ctx, ws.ID, secretHash("rotated"), secretHash("again"), exp, ev("wallet.refresh", ws.ID))
	wantErr(t, "refresh of a revoked session", err, store.ErrInvalidTransition)
	if got, err := f.s.WalletSessionByHash(f.ctx, secretHash("rotated")); err != nil || got.Usable(now) {
		t.Errorf("revoked session by hash = %+v, %v; want found and not usable", got, err)
	}
	// link, session, refresh, revoke
	if n := f.auditLen(); n != n0+4 {
		t.Errorf("audit entries: %d, want %d", n, n0+4)
	}
	f.verify()

	// A grant reaching every department round-trips.
	all := store.WalletLink{ID: "hl_all", SecretHash: secretHash("all"), ExpiresAt: now.Add(time.Minute), Grant: store.WalletGrant{
		HolderCode: "110101199003074258", HolderName: "张三", AllDepartments: true, Via: "oidc", Subject: "https://idp.example#u1",
	}}
	if _, err := f.s.CreateWalletLink(f.ctx, all, ev("holder_link.create", "oidc")); err != nil {
		t.Fatal(err)
	}
	ws2, err := f.s.RedeemWalletLink(f.ctx, secretHash("all"), now, func(l store.WalletLink) (store.WalletSession, store.AuditEvent, error) {
		return store.WalletSession{ID: "ws_all", SecretHash: secretHash("ws_all"), Grant: l.Grant, ExpiresAt: now.Add(time.Hour)}, ev("wallet.session", "oidc"), nil
	})
	if err != nil || !ws2.Grant.AllDepartments || len(ws2.Grant.Departments) != 0 || ws2.Grant.Subject != all.Grant.Subject {
		t.Errorf("all-departments session = %+v, %v", ws2, err)
	}
	if got, err := f.s.WalletSessionByHash(f.ctx, secretHash("ws_all")); err != nil || !same(got, ws2) {
		t.Errorf("all-departments session read back = %+v, %v; want %+v", got, err, ws2)
	}
}

func walletGrantWithLink() store.WalletGrant {
	g := walletGrant()
	g.LinkID = "hl_1"
	return g
}
