package tlog

import (
	"bytes"
	"errors"
	"fmt"
)

// MonitorState is what a [Monitor] needs to resume where it stopped: the
// latest checkpoint note it verified and the compact range of that tree
// (at most 64 hashes), so that a monitor run from a job checks only the
// leaves added since, yet every leaf stays authenticated by a signed root.
type MonitorState struct {
	Note  []byte
	Range [][]byte
}

// State returns what the monitor has verified, if anything.
func (m *Monitor) State() (MonitorState, bool) {
	if m.latest == nil {
		return MonitorState{}, false
	}
	st := MonitorState{Note: append([]byte(nil), m.latest.Note...)}
	for _, h := range m.rng.Hashes() {
		st.Range = append(st.Range, append([]byte(nil), h...))
	}
	return st, true
}

// Resume makes a monitor that has verified nothing continue from st: the
// note must verify under the monitor's keys, and the range must be the
// compact range of its tree (its root the note's root).
func (m *Monitor) Resume(st MonitorState) error {
	if m.latest != nil {
		return errors.New("monitor: resume: already following a checkpoint")
	}
	cp, err := OpenCheckpoint(st.Note, m.cfg.Origin, m.cfg.LogKey, m.cfg.Witnesses...)
	if err != nil {
		return fmt.Errorf("monitor: resume: %w", err)
	}
	r, err := rangeFactory.NewRange(0, cp.Size, append([][]byte(nil), st.Range...))
	if err != nil {
		return fmt.Errorf("monitor: resume: %w", err)
	}
	root, err := rootOf(r)
	if err != nil {
		return fmt.Errorf("monitor: resume: %w", err)
	}
	if !bytes.Equal(root, cp.Hash) {
		return fmt.Errorf("monitor: resume: the saved range does not hash to the checkpoint's root")
	}
	m.rng, m.latest = r, &cp
	m.seen[cp.Size] = cp
	return nil
}
