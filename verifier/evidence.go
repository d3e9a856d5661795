package verifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"elicence/format"
	"elicence/tlog"
)

// LogProof names the issuance-log checkpoint that proved an object existed:
// the object's leaf is at Index in the tree of Size leaves of the log
// Origin, whose checkpoint the witness co-signed at CosignedAt.
type LogProof struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	// Root is the checkpoint's root hash, base64 as in the checkpoint.
	Root       string    `json:"root"`
	Index      uint64    `json:"index"`
	Witness    string    `json:"witness"`
	CosignedAt time.Time `json:"cosigned_at"`
	// Source says where the proof came from: "http" (the log's tiles) or
	// "bundle" (an offline bundle's tlog-proof).
	Source string `json:"source"`
}

// ErrNoEvidence is wrapped by an [Evidence] answer that decides there is
// no proof: the object is not in the log, not yet in a co-signed
// checkpoint, only in one co-signed too late, or the log is forked. Any
// other error means the evidence could not be obtained or checked, which
// is INDETERMINATE TRY_LATER.
var ErrNoEvidence = errors.New("no proof of existence")

func noEvidence(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrNoEvidence, fmt.Sprintf(format, a...))
}

// Evidence is a source of proofs of existence from departments' issuance
// logs ([LogEvidence] is the reference one).
type Evidence interface {
	// Prove returns the checkpoint that proves leaf (of an object signed by
	// department dept, which keeps the log dept.Log) existed strictly
	// before before, co-signed by the witness of trust. An error wrapping
	// ErrNoEvidence decides there is none; any other error is TRY_LATER.
	Prove(ctx context.Context, trust *Trust, dept *format.Department, leaf tlog.Leaf, before time.Time) (*LogProof, error)
	// LogStart returns the witness's time on the first co-signed checkpoint
	// holding the log's first leaf: from then on the department logs what
	// it signs. Zero when the log has no co-signed leaf yet.
	LogStart(ctx context.Context, trust *Trust, dept *format.Department) (time.Time, error)
}

// RetiredLogGrace is how long after a retired key's since a checkpoint
// co-signed holding one of its objects still proves the object was signed
// before the retirement: the department stops signing at since, and its
// last objects reach a co-signed checkpoint at the next checkpoint cadence
// (seconds). A compromised key gets no grace.
const RetiredLogGrace = 5 * time.Minute

// keyCheck is what the key_state check needs of the signed object.
type keyCheck struct {
	kind format.Kind
	// fresh marks a presentation or annotated copy: new whenever shown, so
	// no old evidence can cover it.
	fresh bool
	// claimed is the time the signer states (issued at, signed at).
	claimed time.Time
	// object is the exact signed object the issuer logged.
	object format.Signed
}

func (k keyCheck) leaf() tlog.Leaf {
	kind := tlog.KindCredential
	if k.kind == format.KindDocumentReceipt {
		kind = tlog.KindDocumentReceipt
	}
	return tlog.NewLeaf(kind, k.object.Encode())
}

// checkKeyState runs the key_state check (docs/FORMAT.md §10, key states).
// The time a signer states is no evidence of when it signed, so:
//
//   - a compromised key fails everything it signed, unless its
//     department's issuance log proves the credential or receipt existed:
//     its leaf is in a checkpoint the witness co-signed strictly before the
//     compromise; a presentation or annotated copy, being new, fails
//     regardless;
//   - a retired key signs nothing new: a presentation or annotated copy by
//     it fails. A credential or receipt passes with a proof of existence
//     co-signed before the retirement (plus RetiredLogGrace); without one
//     it passes on the time it claims only if that time is before the
//     retirement and, for a department with a log, also before the log
//     began: an object claiming a time when the log already ran must be
//     in it, so a thief holding a retired key can backdate only to before
//     the log existed.
func checkKeyState(ctx context.Context, x *run, cfg Config, trust *Trust, dept *trustedDept, key *trustedKey, k keyCheck) *Report {
	e := key.entry
	since := time.Unix(e.Since, 0).UTC()
	claims := k.claimed.Format(time.RFC3339)
	log := dept.dept.Log
	switch e.State {
	case format.KeyActive:
		x.pass(CheckKeyState, e.State.String())
		return nil
	case format.KeyCompromised:
		why := fmt.Sprintf("signed by a key compromised since %s; the time it claims (%s) proves nothing", since.Format(time.RFC3339), claims)
		if k.fresh || log == nil || cfg.Evidence == nil {
			return x.fail(CheckKeyState, Failed, KeyCompromised, why)
		}
		p, err := cfg.Evidence.Prove(ctx, trust, dept.dept, k.leaf(), since)
		switch {
		case errors.Is(err, ErrNoEvidence):
			return x.fail(CheckKeyState, Failed, KeyCompromised, why+", and the issuance log does not prove it existed before: "+err.Error())
		case err != nil:
			return x.fail(CheckKeyState, Indeterminate, TryLater, "signed by a key compromised since "+since.Format(time.RFC3339)+"; issuance log evidence unavailable: "+err.Error())
		}
		x.r.LogProof = p
		x.pass(CheckKeyState, "compromised since "+since.Format(time.RFC3339)+"; existed before it by "+p.describe())
		return nil
	case format.KeyRetired:
		if k.fresh {
			return x.fail(CheckKeyState, Failed, KeyRetired, k.kind.String()+" signed by a key retired since "+since.Format(time.RFC3339)+": a retired key signs nothing new")
		}
		if log != nil {
			return checkRetiredLogged(ctx, x, cfg, trust, dept, since, k)
		}
		if !e.ClaimedBefore(k.claimed) {
			return x.fail(CheckKeyState, Failed, KeyRetired, "signed by a key retired since "+since.Format(time.RFC3339))
		}
		x.pass(CheckKeyState, "retired since "+since.Format(time.RFC3339)+"; claims "+claims)
		return nil
	}
	return x.fail(CheckKeyState, Failed, KeyCompromised, "key in unknown state "+e.State.String())
}

// checkRetiredLogged decides a credential or receipt by a retired key of a
// department that keeps an issuance log.
func checkRetiredLogged(ctx context.Context, x *run, cfg Config, trust *Trust, dept *trustedDept, since time.Time, k keyCheck) *Report {
	retired := "signed by a key retired since " + since.Format(time.RFC3339)
	if cfg.Evidence == nil {
		return x.fail(CheckKeyState, Indeterminate, TryLater, retired+"; its department keeps an issuance log, which this verifier cannot consult")
	}
	p, err := cfg.Evidence.Prove(ctx, trust, dept.dept, k.leaf(), since.Add(RetiredLogGrace))
	switch {
	case err == nil:
		x.r.LogProof = p
		x.pass(CheckKeyState, "retired since "+since.Format(time.RFC3339)+"; signed before it by "+p.describe())
		return nil
	case !errors.Is(err, ErrNoEvidence):
		return x.fail(CheckKeyState, Indeterminate, TryLater, retired+"; issuance log evidence unavailable: "+err.Error())
	}
	if !k.claimed.Before(since) {
		return x.fail(CheckKeyState, Failed, KeyRetired, retired)
	}
	start, serr := cfg.Evidence.LogStart(ctx, trust, dept.dept)
	if serr != nil {
		return x.fail(CheckKeyState, Indeterminate, TryLater, retired+"; the issuance log's start is unavailable: "+serr.Error())
	}
	claims := k.claimed.Format(time.RFC3339)
	if !start.IsZero() && !k.claimed.Before(start) {
		return x.fail(CheckKeyState, Failed, KeyRetired, fmt.Sprintf("%s; it claims %s, when its department's issuance log already ran (since %s), yet the log does not prove it: %v",
			retired, claims, start.Format(time.RFC3339), err))
	}
	x.pass(CheckKeyState, "retired since "+since.Format(time.RFC3339)+"; claims "+claims+", before its department's issuance log began")
	return nil
}

// describe words the proof for a check's detail.
func (p *LogProof) describe() string {
	return fmt.Sprintf("checkpoint %s size %d (leaf %d), co-signed by %s at %s", p.Origin, p.Size, p.Index, p.Witness, p.CosignedAt.Format(time.RFC3339))
}
