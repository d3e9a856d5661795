package tlog_test

import (
	"context"
	"errors"
	"testing"

	"elicence/tlog"
)

// TestMonitorResume: a monitor resumed from another's state checks only the
// leaves added since, still finds a fork of the saved size, and refuses a
// state whose range does not hash to its checkpoint's root.
func TestMonitorResume(t *testing.T) {
	ctx := context.Background()
	d := department(t)
	small, _ := logOf(t, testOrigin, 300, leafN)
	big, _ := logOf(t, testOrigin, 700, leafN)
	forked, _ := logOf(t, testOrigin, 300, forkedLeaf)
	cfg := tlog.MonitorConfig{Origin: testOrigin, LogKey: d.verifier, Tiles: fetcherOf(big, testOrigin)}
	m1, _ := tlog.NewMonitor(cfg)
	if _, err := m1.Update(ctx, signedCheckpoint(t, small, d)); err != nil {
		t.Fatal(err)
	}
	st, ok := m1.State()
	if !ok || len(st.Range) == 0 {
		t.Fatalf("state %v %v", st, ok)
	}
	m2, _ := tlog.NewMonitor(cfg)
	if err := m2.Resume(st); err != nil {
		t.Fatal(err)
	}
	rep, err := m2.Update(ctx, signedCheckpoint(t, big, d))
	if err != nil || rep.From != 300 || rep.To != 700 {
		t.Fatalf("after resume: %+v %v", rep, err)
	}
	m3, _ := tlog.NewMonitor(cfg)
	if err := m3.Resume(st); err != nil {
		t.Fatal(err)
	}
	if _, err := m3.Update(ctx, signedCheckpoint(t, forked, d)); !errors.Is(err, tlog.ErrFork) {
		t.Errorf("fork of the saved size: %v", err)
	}
	bad := tlog.MonitorState{Note: st.Note, Range: append([][]byte{make([]byte, tlog.HashSize)}, st.Range[1:]...)}
	m4, _ := tlog.NewMonitor(cfg)
	if err := m4.Resume(bad); err == nil {
		t.Error("a range that does not hash to the root was taken")
	}
	if err := m2.Resume(st); err == nil {
		t.Error("resumed a monitor already following")
	}
}
