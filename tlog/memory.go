package tlog

import (
	"context"
	"fmt"
	"sync"
)

// MemoryStore is an in-memory [Tx] and [Reader] for tests. [MemoryStore.Update]
// runs a function as one transaction: appends made through it become visible
// only if it returns nil, and transactions run one at a time, as the lock of
// [Tx.LockLog] makes them in a real store.
type MemoryStore struct {
	mu   sync.Mutex // held by a running Update
	data sync.RWMutex
	logs map[string]*memLog
}

type memLog struct {
	state  State
	leaves []Leaf
	hashes map[uint][][]byte // tree level → hashes by index
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{logs: map[string]*memLog{}} }

// Update runs fn in a transaction; its appends commit if fn returns nil.
func (m *MemoryStore) Update(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{m: m, pending: map[string]*memAppend{}}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	m.data.Lock()
	defer m.data.Unlock()
	for origin, p := range tx.pending {
		lg := m.logs[origin]
		if lg == nil {
			lg = &memLog{hashes: map[uint][][]byte{}}
			m.logs[origin] = lg
		}
		for _, e := range p.entries {
			lg.leaves = append(lg.leaves, e.Leaf)
		}
		for _, n := range p.nodes {
			lg.hashes[n.Level] = append(lg.hashes[n.Level], n.Hash)
		}
		lg.state = cloneState(p.state)
	}
	return nil
}

type memAppend struct {
	entries []Entry
	nodes   []Node
	state   State
}

type memTx struct {
	m       *MemoryStore
	pending map[string]*memAppend
}

func (t *memTx) LockLog(ctx context.Context, origin string) (State, error) {
	if p := t.pending[origin]; p != nil {
		return p.state, nil
	}
	return t.m.LogState(ctx, origin)
}

func (t *memTx) AppendLog(ctx context.Context, origin string, entries []Entry, nodes []Node, next State) error {
	p := t.pending[origin]
	if p == nil {
		p = &memAppend{}
		t.pending[origin] = p
	}
	// Refuse anything but the next index, as a primary key would.
	t.m.data.RLock()
	var have uint64
	lvl := map[uint]uint64{}
	if lg := t.m.logs[origin]; lg != nil {
		have = uint64(len(lg.leaves))
		for l, hs := range lg.hashes {
			lvl[l] = uint64(len(hs))
		}
	}
	t.m.data.RUnlock()
	have += uint64(len(p.entries))
	for _, n := range p.nodes {
		lvl[n.Level]++
	}
	for _, e := range entries {
		if e.Index != have {
			return fmt.Errorf("memory store: leaf at %d, next is %d", e.Index, have)
		}
		have++
	}
	for _, n := range nodes {
		if n.Index != lvl[n.Level] {
			return fmt.Errorf("memory store: hash (%d, %d), next at that level is %d", n.Level, n.Index, lvl[n.Level])
		}
		lvl[n.Level]++
	}
	p.entries = append(p.entries, entries...)
	p.nodes = append(p.nodes, nodes...)
	p.state = next
	return nil
}

// LogState implements [Reader].
func (m *MemoryStore) LogState(_ context.Context, origin string) (State, error) {
	m.data.RLock()
	defer m.data.RUnlock()
	if lg := m.logs[origin]; lg != nil {
		return cloneState(lg.state), nil
	}
	return State{}, nil
}

// cloneState copies a state so that no caller shares the store's slices.
func cloneState(s State) State {
	out := State{Size: s.Size, Root: append([]byte(nil), s.Root...)}
	for _, h := range s.Range {
		out.Range = append(out.Range, append([]byte(nil), h...))
	}
	return out
}

// LogHashes implements [Reader].
func (m *MemoryStore) LogHashes(_ context.Context, origin string, level uint, from, n uint64) ([][]byte, error) {
	m.data.RLock()
	defer m.data.RUnlock()
	lg := m.logs[origin]
	if lg == nil || from+n < from || from+n > uint64(len(lg.hashes[level])) {
		return nil, ErrNotFound
	}
	return append([][]byte(nil), lg.hashes[level][from:from+n]...), nil
}

// LogLeaves implements [Reader].
func (m *MemoryStore) LogLeaves(_ context.Context, origin string, from, n uint64) ([]Leaf, error) {
	m.data.RLock()
	defer m.data.RUnlock()
	lg := m.logs[origin]
	if lg == nil || from+n < from || from+n > uint64(len(lg.leaves)) {
		return nil, ErrNotFound
	}
	return append([]Leaf(nil), lg.leaves[from:from+n]...), nil
}
