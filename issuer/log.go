package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/singleflight"

	"elicence/format"
	"elicence/issuer/store"
	"elicence/keys"
	"elicence/tlog"
)

// DefaultCheckpointInterval is how often a department's checkpoint is
// signed when its log grew.
const DefaultCheckpointInterval = time.Second

// LogConfig configures the issuance log (docs/FORMAT.md §17). Zero values
// take the defaults.
type LogConfig struct {
	// Disabled stores licences and documents without appending them to
	// the log. For benchmarks that measure what the log costs; a
	// production issuer keeps the log.
	Disabled bool
	// CheckpointInterval is how often each department's checkpoint is
	// signed and co-signed when its log grew; DefaultCheckpointInterval
	// when zero.
	CheckpointInterval time.Duration
	// Witness is the trust-list operator's witness key (LoadWitnessKey),
	// which co-signs the checkpoints. Without it the leaves are still
	// appended, but no checkpoint is signed and the trust list names no
	// log.
	Witness crypto.Signer
	// WitnessName is the witness key's name in cosignatures and in the
	// trust list; "<log host>/witness" when empty.
	WitnessName string
}

// Logs is the issuance-log room: one append-only Merkle log per
// department, to which the Licences and Documents rooms append (through
// the store, in the transaction that stores what is signed), and whose
// checkpoints this room signs with each department's checkpoint key and
// co-signs with the operator's witness key, at a fixed cadence. It also
// answers the log's public routes.
type Logs struct {
	*core
	cfg  LogConfig
	host string

	mu     sync.Mutex
	stored map[string]store.LogKey // origins and keys by department code
	keys   map[string]*logSigner   // decrypted, by department code
	flight singleflight.Group

	stop chan struct{}
	done sync.WaitGroup
}

func newLogs(c *core, cfg LogConfig) (*Logs, error) {
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	l := &Logs{core: c, cfg: cfg, host: logOriginHost(c.publicURL), keys: map[string]*logSigner{}, stored: map[string]store.LogKey{}, stop: make(chan struct{})}
	if cfg.WitnessName == "" {
		cfg.WitnessName = l.host + "/witness"
		l.cfg.WitnessName = cfg.WitnessName
	}
	if cfg.Witness != nil {
		pub, ok := cfg.Witness.Public().(*ecdsa.PublicKey)
		if !ok || !sm2.IsSM2PublicKey(pub) {
			return nil, errors.New("issuer: witness key is not an sm2 key")
		}
		if _, err := tlog.VerifierKey(cfg.WitnessName, tlog.CosigSigType, pub); err != nil {
			return nil, fmt.Errorf("issuer: witness key name: %w", err)
		}
	}
	if !tlog.ValidOrigin(l.host + "/tlog/X") {
		return nil, fmt.Errorf("issuer: public URL %q cannot name a log origin", c.publicURL)
	}
	if !cfg.Disabled {
		c.logOrigin = l.Origin
	}
	if l.Enabled() {
		c.logTrust = l.trustList
	}
	return l, nil
}

// Origin returns the origin of the department's log, fixed the first
// time the log is used: "<public host and path>/tlog/<department code>"
// with the public URL of then (see logKey).
func (s *Logs) Origin(ctx context.Context, dept string) (string, error) {
	k, err := s.logKey(ctx, dept, true)
	if err != nil {
		return "", fmt.Errorf("issuance log of %s: %w", dept, err)
	}
	return k.Origin, nil
}

// Enabled reports whether licences and documents are logged and
// checkpoints co-signed: the trust list then names the logs.
func (s *Logs) Enabled() bool { return !s.cfg.Disabled && s.cfg.Witness != nil }

// start runs the checkpoint cadence until close.
func (s *Logs) start() {
	if !s.Enabled() {
		return
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(s.cfg.CheckpointInterval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.Checkpoint(ctx); err != nil {
				s.log.Warn("issuance log: checkpoint", "err", err)
			}
			cancel()
		}
	}()
}

func (s *Logs) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.done.Wait()
}

// Checkpoint signs, co-signs and stores a checkpoint of every department's
// log that grew since its latest co-signed one (or has none yet). Several
// processes may run it at once: a checkpoint of a size already stored is
// dropped, so the history keeps one per size.
func (s *Logs) Checkpoint(ctx context.Context) error {
	if !s.Enabled() {
		return errors.New("issuance log: no witness key, nothing is co-signed")
	}
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range depts {
		if err := s.checkpointOne(ctx, d.Code); err != nil {
			errs = append(errs, fmt.Errorf("department %s: %w", d.Code, err))
		}
	}
	return errors.Join(errs...)
}

// checkpointOne checkpoints one department's log.
func (s *Logs) checkpointOne(ctx context.Context, dept string) error {
	ls, err := s.checkpointKey(ctx, dept)
	if err != nil {
		return err
	}
	origin := ls.origin
	st, err := s.store.LogState(ctx, origin)
	if err != nil {
		return err
	}
	latest, err := s.store.LatestCheckpoint(ctx, origin)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case latest.Size >= st.Size:
		return nil
	}
	root := st.Root
	if st.Size == 0 {
		root = tlog.Hasher.EmptyRoot()
	}
	signed, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: st.Size, Hash: root}, ls.signer)
	if err != nil {
		return err
	}
	var last *tlog.SignedCheckpoint
	var consistency [][]byte
	if latest.CosignedNote != nil {
		cp, err := tlog.OpenCheckpoint(latest.CosignedNote, origin, ls.verifier)
		if err != nil {
			return fmt.Errorf("stored checkpoint %d: %w", latest.Size, err)
		}
		last = &cp
		if cp.Size > 0 {
			fetch := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
				return tlog.ReadTile(ctx, s.store, origin, level, index, p)
			}
			if consistency, err = tlog.NewProofBuilder(st.Size, fetch).ConsistencyProof(ctx, cp.Size, st.Size); err != nil {
				return fmt.Errorf("consistency proof %d to %d: %w", cp.Size, st.Size, err)
			}
		}
	}
	cosigner, err := tlog.NewCosigner(s.cfg.WitnessName, s.cfg.Witness, s.now)
	if err != nil {
		return err
	}
	w := tlog.Witness{Cosigner: cosigner, Logs: map[string]note.Verifier{origin: ls.verifier}}
	_, cosigned, err := w.Cosign(signed, origin, last, consistency)
	if err != nil {
		// A history the witness refuses stays unpublished: verifiers
		// accept only co-signed checkpoints.
		s.log.Error("issuance log: the witness refused a checkpoint", "origin", origin, "size", st.Size, "err", err)
		return err
	}
	// Stored unless another process stored this size first: then its
	// note (of the same tree) stands and this one is dropped.
	_, err = s.store.AddCheckpoint(ctx, store.LogCheckpoint{Origin: origin, Size: st.Size, Note: signed, CosignedNote: cosigned, SignedAt: s.now()})
	return err
}

// trustList adds the logs and the witness to a trust list being built.
func (s *Logs) trustList(ctx context.Context, tl *format.TrustList) error {
	spki, err := keys.MarshalPublicKeyDER(s.cfg.Witness.Public().(*ecdsa.PublicKey))
	if err != nil {
		return err
	}
	tl.Witness = &format.WitnessKey{Name: s.cfg.WitnessName, PublicKey: spki}
	for i := range tl.Departments {
		d := &tl.Departments[i]
		ls, err := s.checkpointKey(ctx, d.Code)
		if err != nil {
			return err
		}
		d.Log = &format.DepartmentLog{Origin: ls.origin, URL: s.publicBase() + "/tlog/" + d.Code + "/", PublicKey: ls.spki}
	}
	return nil
}

// publicBase is the public URL the log's routes are under.
func (s *Logs) publicBase() string {
	if s.publicURL != "" {
		return s.publicURL
	}
	return "http://" + DefaultLogHost
}
