// Package verifier verifies elicence QR texts: credentials, dynamic
// presentation tokens and annotated copies. It is stateless and holds no
// secret: trust comes from a root-signed trust list, revocation from signed
// status lists, both obtained through plain functions so that they may come
// from files, from HTTP, or from a cache in front of either.
//
// [Verify] is the core: it decodes, checks every rule in a fixed order and
// returns a [Report] naming the first reason for failure. A failure to
// obtain fresh trust or status data is INDETERMINATE / TRY_LATER, never
// FAILED and never PASSED.
package verifier

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"elicence/format"
)

// TrustFunc returns the current verified trust list.
type TrustFunc func(ctx context.Context) (*Trust, error)

// StatusFunc returns the verified status list named list of the department
// dept, as listed in trust.
type StatusFunc func(ctx context.Context, trust *Trust, dept *format.Department, list string) (*Status, error)

// DefaultStalenessGrace is how much older than its own signed time-to-live
// a status list may be before verification answers TRY_LATER, when
// Config.MaxStaleness is zero: the list's TTL plus this grace is the
// default maximum staleness. It covers a refresh that is late by a failed
// fetch or two and clocks that disagree by the skew; a longer window is an
// explicit choice of the relying department (Config.MaxStaleness,
// --max-staleness).
const DefaultStalenessGrace = 5 * time.Minute

// DefaultSkew is the clock-skew tolerance, when Config.Skew (or
// FetchConfig.Skew) is zero. It is the one tolerance for every time a
// signer states: a trust list, status list, credential, presentation or
// annotated copy whose issued-at (or not-before) lies further ahead than it
// is refused, and presentations and annotated copies get it after expiry.
const DefaultSkew = 30 * time.Second

// Config says where Verify gets trust and status data and how it judges time.
type Config struct {
	Trust  TrustFunc
	Status StatusFunc
	// RefreshTrust, when set, is called once when a credential names a key
	// (or department) the held trust list does not know, in case a newer
	// trust list names it; it returns the trust list held afterwards. The
	// Cache's RefreshTrust bounds how often it really fetches.
	RefreshTrust TrustFunc
	// Evidence, when set, proves from a department's issuance log that a
	// credential or document receipt signed by a key since compromised or
	// retired existed before the compromise or retirement ([LogEvidence]).
	// Nil: every object signed by a compromised key fails, whatever time it
	// claims, and a retired key's object of a department that keeps a log
	// is TRY_LATER (it can be decided only with the log).
	Evidence Evidence
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxStaleness bounds the age of a status list (now minus its
	// issued-at). Zero: the list's own time-to-live plus
	// DefaultStalenessGrace.
	MaxStaleness time.Duration
	// Skew is the clock-skew tolerance; DefaultSkew when zero.
	Skew time.Duration
	// Department is the relying department's own code, which annotated
	// copies must name. Empty refuses every annotated copy.
	Department string
	// Memo, when set, remembers signatures that verified, keyed by the
	// exact signed bytes, the signature and the key, so that a repeat
	// verification skips the SM2 arithmetic; every other check still runs
	// on every request. Nil verifies every signature in full.
	Memo *SignatureMemo
}

// clock reads cfg's clock, time.Now when it has none.
func (cfg *Config) clock() time.Time {
	if cfg.Now != nil {
		return cfg.Now()
	}
	return time.Now()
}

// maxStaleness returns the oldest a status list st may be under cfg.
func (cfg *Config) maxStaleness(st *Status) time.Duration {
	if cfg.MaxStaleness > 0 {
		return cfg.MaxStaleness
	}
	return time.Duration(st.List.TTL)*time.Second + DefaultStalenessGrace
}

// run accumulates checks; the first non-passing check decides the verdict.
type run struct {
	r *Report
	// retry asks Verify to run again because the trust list changed
	// during the run; retried says this run is that second one.
	retry, retried bool
}

func (x *run) pass(name, detail string) {
	x.r.Checks = append(x.r.Checks, Check{Name: name, Result: CheckPassed, Detail: detail})
}

func (x *run) fail(name string, ind Indication, sub SubIndication, detail string) *Report {
	res := CheckFailed
	if ind == Indeterminate {
		res = CheckIndeterminate
	}
	x.r.Checks = append(x.r.Checks, Check{Name: name, Result: res, Detail: detail})
	x.r.Indication, x.r.SubIndication, x.r.Reason = ind, sub, detail
	return x.r
}

// checkOrder lists every check in the order they run.
var checkOrder = [...]string{CheckFormat, CheckTrustList, CheckIssuer, CheckSignature, CheckKeyState, CheckAuthorised, CheckValidity, CheckPresentation, CheckAnnotation, CheckStatus}

// skipRest marks the checks that did not run.
func (x *run) skipRest(r *Report) *Report {
	for _, name := range checkOrder {
		done := false
		for _, c := range r.Checks {
			if c.Name == name {
				done = true
				break
			}
		}
		if !done {
			r.Checks = append(r.Checks, Check{Name: name, Result: CheckSkipped})
		}
	}
	return r
}

// Verify verifies a QR text and returns the report. It never panics on any
// input and never returns PASSED or REVOKED without fresh data.
func Verify(ctx context.Context, text string, cfg Config) *Report {
	now := cfg.clock()
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	x := &run{r: &Report{VerifiedAt: now.UTC(), Checks: make([]Check, 0, len(checkOrder))}}
	r := verify(ctx, x, text, cfg, now)
	if x.retry {
		// The status list came verified under a newer trust list than the
		// one this run used (it changed meanwhile): run once more on it.
		x = &run{r: &Report{VerifiedAt: now.UTC(), Checks: make([]Check, 0, len(checkOrder))}, retried: true}
		r = verify(ctx, x, text, cfg, now)
	}
	if r.Indication == "" {
		r.Indication = Passed
	}
	return x.skipRest(r)
}

func formatFailure(err error) SubIndication {
	switch format.ProblemOf(err) {
	case format.ProblemPrefix:
		return UnsupportedFormat
	case format.ProblemBase45:
		return EncodingFailure
	case format.ProblemTooLarge:
		return InputTooLarge
	case format.ProblemTrailing:
		return TrailingData
	case format.ProblemNonCanonical:
		return NonCanonical
	}
	return FormatFailure
}

func verify(ctx context.Context, x *run, text string, cfg Config, now time.Time) *Report {
	q, err := format.ParseQR(text)
	if err != nil {
		return x.fail(CheckFormat, Failed, formatFailure(err), err.Error())
	}
	kind, raw := q.Kind, q.Envelope
	x.r.Kind = kind.String()
	if kind == format.KindDocumentReceipt {
		return verifyReceipt(ctx, x, raw, nil, cfg, now)
	}

	// Unwrap presentations and annotated copies to the credential inside.
	var (
		outer      format.Signed
		pres       *format.Presentation
		annotation *format.AnnotatedCopy
		credBytes  = raw
	)
	switch kind {
	case format.KindPresentation:
		outer, pres, err = format.ParsePresentation(raw)
		if err == nil {
			credBytes = pres.Credential
		}
	case format.KindAnnotatedCopy:
		outer, annotation, err = format.ParseAnnotatedCopy(raw)
		if err == nil {
			credBytes = annotation.Credential
		}
	}
	if err != nil {
		return x.fail(CheckFormat, Failed, formatFailure(err), err.Error())
	}
	// A version-1 text carries a version-1 credential only; a version-2
	// text either layout (docs/FORMAT.md §4).
	var (
		signed  format.Signed
		cred    *format.Credential
		compact *format.CompactCredential
	)
	if q.Version == 1 {
		signed, cred, err = format.ParseCredential(credBytes)
	} else {
		signed, cred, compact, err = format.ParseAnyCredential(credBytes)
	}
	if err != nil {
		return x.fail(CheckFormat, Failed, formatFailure(err), err.Error())
	}
	formatDetail := kind.String()
	if q.Version != 1 {
		formatDetail += ", format version " + strconv.Itoa(q.Version)
		if compact != nil {
			formatDetail += " (compact)"
		}
	}
	x.pass(CheckFormat, formatDetail)

	trust, err := cfg.Trust(ctx)
	if err != nil {
		return x.fail(CheckTrustList, Indeterminate, TryLater, "trust list unavailable: "+err.Error())
	}
	var (
		dept    *trustedDept
		key     *trustedKey
		matches int
	)
	lookup := func() {
		if compact != nil {
			dept, key, matches = trust.shortKey(compact.ShortKeyID)
		} else {
			dept, key = trust.key(cred.IssuerCode, cred.KeyID)
		}
	}
	lookup()
	if key == nil && cfg.RefreshTrust != nil {
		// A key or department the trust list does not know may be new:
		// look once for a newer trust list that names it.
		if t, err := cfg.RefreshTrust(ctx); err == nil && t != nil {
			trust = t
			lookup()
		}
	}
	if r := checkTrust(x, trust, now, cfg); r != nil {
		return r
	}
	x.pass(CheckTrustList, "sequence "+strconv.FormatUint(trust.List.Sequence, 10))

	// A compact credential names its key by a short ID, which must name
	// exactly one key of the whole trust list; the department is that
	// key's, and the type the one the catalogue numbers so.
	var typeInfo *format.TypeInfo
	if compact != nil {
		if key == nil {
			x.r.Issuer = &Issuer{KeyID: hex.EncodeToString(compact.ShortKeyID)}
			if matches > 1 {
				return x.fail(CheckIssuer, Failed, UnknownKey, fmt.Sprintf("short key id %x names %d keys in the trust list, not one", compact.ShortKeyID, matches))
			}
			return x.fail(CheckIssuer, Failed, UnknownKey, fmt.Sprintf("no key in the trust list has a key id starting %x", compact.ShortKeyID))
		}
		typeInfo = trust.List.TypeNumbered(compact.TypeNumber)
		typeCode := ""
		if typeInfo != nil {
			typeCode = typeInfo.Code
		}
		cred = compact.Resolve(dept.dept.Code, typeCode, key.entry.ID)
	}

	if dept == nil {
		return x.fail(CheckIssuer, Failed, UnknownIssuer, fmt.Sprintf("issuing department %s is not in the trust list", cred.IssuerCode))
	}
	x.r.Issuer = &Issuer{Code: dept.dept.Code, Name: dept.dept.Name}
	if key == nil {
		x.r.Issuer.KeyID = hex.EncodeToString(cred.KeyID)
		return x.fail(CheckIssuer, Failed, UnknownKey, fmt.Sprintf("key %x is not a key of department %s in the trust list", cred.KeyID, cred.IssuerCode))
	}
	x.r.Issuer.KeyID, x.r.Issuer.KeyState = key.id, key.entry.State.String()
	x.pass(CheckIssuer, dept.dept.Name)

	if !key.verifyMemo(cfg.Memo, signed.Payload, signed.Signature) {
		return x.fail(CheckSignature, Failed, SigCryptoFailure, "credential signature does not verify")
	}
	if kind != format.KindCredential {
		if !key.verifyMemo(cfg.Memo, outer.Payload, outer.Signature) {
			return x.fail(CheckSignature, Failed, SigCryptoFailure, kind.String()+" signature does not verify")
		}
	}
	x.pass(CheckSignature, "SM2 with SM3 by key "+key.id)
	// A compact credential's type must be one of the catalogue, and what
	// the trust list supplied must make a valid credential with it.
	var unresolved string
	if compact != nil {
		if typeInfo == nil {
			unresolved = fmt.Sprintf("licence type number %d is not in the trust list's catalogue", compact.TypeNumber)
		} else if err := cred.Validate(); err != nil {
			unresolved = fmt.Sprintf("licence type number %d names %q, which does not make a valid credential: %v", compact.TypeNumber, typeInfo.Code, err)
		}
	}
	if unresolved == "" {
		x.r.Licence = disclose(cred, trust)
	}

	kc := keyCheck{kind: kind, fresh: kind != format.KindCredential, claimed: time.Unix(cred.IssuedAt, 0).UTC(), object: signed}
	if r := checkKeyState(ctx, x, cfg, trust, dept, key, kc); r != nil {
		return r
	}

	if unresolved != "" {
		return x.fail(CheckAuthorised, Failed, TypeNotAuthorised, unresolved)
	}
	if !dept.dept.MayIssue(cred.TypeCode) {
		return x.fail(CheckAuthorised, Failed, TypeNotAuthorised, fmt.Sprintf("department %s may not issue licence type %s", dept.dept.Code, cred.TypeCode))
	}
	x.pass(CheckAuthorised, cred.TypeCode)

	from, until := cred.Validity()
	issuedAt := time.Unix(cred.IssuedAt, 0).UTC()
	switch {
	case issuedAt.After(now.Add(cfg.Skew)):
		return x.fail(CheckValidity, Failed, FutureDated, "credential issued at "+issuedAt.Format(time.RFC3339)+", ahead of this verifier's clock")
	case now.Before(from):
		return x.fail(CheckValidity, Failed, NotYetValid, "valid from "+from.Format(time.RFC3339))
	case !until.IsZero() && !now.Before(until):
		return x.fail(CheckValidity, Failed, Expired, "expired "+until.Format(time.RFC3339))
	}
	x.pass(CheckValidity, "")

	if pres != nil {
		nb, exp := time.Unix(pres.NotBefore, 0).UTC(), time.Unix(pres.Expires, 0).UTC()
		x.r.Validity = &Window{NotBefore: nb, Expires: exp}
		switch {
		case exp.Sub(nb) > format.MaxPresentationLifetime:
			return x.fail(CheckPresentation, Failed, LifetimeTooLong,
				fmt.Sprintf("presentation valid for %s, more than the %s an issuer may give", exp.Sub(nb), format.MaxPresentationLifetime))
		case now.Add(cfg.Skew).Before(nb):
			return x.fail(CheckPresentation, Failed, PresentationNotYetValid, "presentation valid from "+nb.Format(time.RFC3339))
		case !now.Add(-cfg.Skew).Before(exp):
			return x.fail(CheckPresentation, Failed, PresentationExpired, "presentation expired "+exp.Format(time.RFC3339))
		}
		x.pass(CheckPresentation, "")
	}
	if annotation != nil {
		exp, at := time.Unix(annotation.Expires, 0).UTC(), time.Unix(annotation.IssuedAt, 0).UTC()
		x.r.Annotation = &Annotation{RelyingDepartment: annotation.Relying, Purpose: annotation.Purpose,
			IssuedAt: at, Expires: exp}
		if d := trust.List.Department(annotation.Relying); d != nil {
			x.r.Annotation.RelyingDepartmentName = d.Name
		}
		switch {
		case cfg.Department == "":
			// A public verifier answers anyone: accepting the copy here
			// would accept it on behalf of whoever asks.
			return x.fail(CheckAnnotation, Failed, WrongRelyingDepartment,
				fmt.Sprintf("annotated copy is for department %s; this verifier acts for no department, so it is not valid here (only %s's own verifier accepts it)", annotation.Relying, annotation.Relying))
		case annotation.Relying != cfg.Department:
			return x.fail(CheckAnnotation, Failed, WrongRelyingDepartment,
				fmt.Sprintf("annotated copy is for department %s, not %s", annotation.Relying, cfg.Department))
		case exp.Sub(at) > format.MaxAnnotatedCopyLifetime:
			return x.fail(CheckAnnotation, Failed, LifetimeTooLong,
				fmt.Sprintf("annotated copy valid for %s, more than the %s an issuer may give", exp.Sub(at), format.MaxAnnotatedCopyLifetime))
		case at.After(now.Add(cfg.Skew)):
			return x.fail(CheckAnnotation, Failed, FutureDated, "annotated copy issued at "+at.Format(time.RFC3339)+", ahead of this verifier's clock")
		case !now.Add(-cfg.Skew).Before(exp):
			return x.fail(CheckAnnotation, Failed, AnnotationExpired, "annotated copy expired "+exp.Format(time.RFC3339))
		}
		x.pass(CheckAnnotation, annotation.Purpose)
	}

	if r := checkStatus(ctx, x, cfg, trust, dept, cred.IssuerCode, cred.Status, now); r != nil {
		return r
	}
	return x.r
}

// checkStatus runs the status check of the entry ref of department dept
// (code issuerCode) and returns nil when it passes.
func checkStatus(ctx context.Context, x *run, cfg Config, trust *Trust, dept *trustedDept, issuerCode string, ref format.StatusRef, now time.Time) *Report {
	x.r.Status = &StatusReport{List: ref.List, Index: ref.Index}
	st, err := cfg.Status(ctx, trust, dept.dept, ref.List)
	if err != nil {
		return x.fail(CheckStatus, Indeterminate, TryLater, "status list unavailable: "+err.Error())
	}
	age := now.Sub(st.IssuedAt())
	x.r.Status.IssuedAt, x.r.Status.TTLSeconds, x.r.Status.FetchedAt, x.r.Status.Source = st.IssuedAt(), st.List.TTL, st.FetchedAt.UTC(), st.Source
	x.r.Status.AgeSeconds = int64(age / time.Second)
	if st.List.Issuer != issuerCode || st.List.List != ref.List {
		return x.fail(CheckStatus, Indeterminate, TryLater, "status source returned another list")
	}
	// The list was verified when it was obtained; check again that the
	// trust list used here still vouches for its key, so that a list held
	// from before a key change is never used under the new trust list.
	if err := trust.statusSigner(st.List); err != nil {
		if !x.retried && st.trustSeq > trust.List.Sequence {
			if t, terr := cfg.Trust(ctx); terr == nil && t.List.Sequence > trust.List.Sequence {
				x.retry = true
			}
		}
		return x.fail(CheckStatus, Indeterminate, TryLater, "status list not usable: "+err.Error())
	}
	if st.IssuedAt().After(obtainedBy(now, cfg).Add(cfg.Skew)) {
		return x.fail(CheckStatus, Indeterminate, TryLater, "status list issued at "+st.IssuedAt().Format(time.RFC3339)+", ahead of this verifier's clock")
	}
	if limit := cfg.maxStaleness(st); age > limit {
		return x.fail(CheckStatus, Indeterminate, TryLater,
			fmt.Sprintf("status list is %s old, more than the %s allowed", age.Round(time.Second), limit))
	}
	if int(ref.Index) >= st.Entries.Len() {
		return x.fail(CheckStatus, Failed, FormatFailure, fmt.Sprintf("status index %d outside list of %d", ref.Index, st.Entries.Len()))
	}
	v := st.Entries.Get(int(ref.Index))
	x.r.Status.Value = v.String()
	if d, ok := format.DetailOf(st.Details, ref.Index); ok && v != format.StatusValid {
		x.r.Status.Reason, x.r.Status.ChangedAt = d.Reason.String(), time.Unix(d.ChangedAt, 0).UTC()
	}
	switch v {
	case format.StatusValid:
		x.pass(CheckStatus, "valid, list "+age.Round(time.Second).String()+" old")
	case format.StatusRevoked:
		return x.fail(CheckStatus, Failed, Revoked, "revoked"+x.r.Status.because())
	case format.StatusSuspended:
		return x.fail(CheckStatus, Failed, Suspended, "suspended"+x.r.Status.because())
	default:
		return x.fail(CheckStatus, Indeterminate, StatusUnknown, "status value "+v.String())
	}
	return nil
}

// obtainedBy is the time by which a list used in a verification that
// began at now was obtained: the clock read again, since fetching it may
// have taken a while (a slow upload, a slow issuer), and a list signed
// during that while is not dated ahead. Never earlier than now, so a
// fixed or backward clock judges as before.
func obtainedBy(now time.Time, cfg Config) time.Time {
	c := cfg.clock()
	if c.After(now) {
		return c
	}
	return now
}

// checkTrust fails the trust_list check when trust is stale at now, or
// dated ahead by more than skew of the time it was obtained (obtainedBy).
func checkTrust(x *run, trust *Trust, now time.Time, cfg Config) *Report {
	switch {
	case !trust.Fresh(now):
		return x.fail(CheckTrustList, Indeterminate, TryLater,
			fmt.Sprintf("trust list %d is stale: next update was due %s", trust.List.Sequence, time.Unix(trust.List.NextUpdate, 0).UTC().Format(time.RFC3339)))
	case time.Unix(trust.List.IssuedAt, 0).After(obtainedBy(now, cfg).Add(cfg.Skew)):
		return x.fail(CheckTrustList, Indeterminate, TryLater,
			fmt.Sprintf("trust list %d is issued at %s, ahead of this verifier's clock", trust.List.Sequence, time.Unix(trust.List.IssuedAt, 0).UTC().Format(time.RFC3339)))
	}
	return nil
}

func disclose(c *format.Credential, trust *Trust) *Licence {
	from, until := c.Validity()
	l := &Licence{
		ID: c.ID(), TypeCode: c.TypeCode, HolderName: c.HolderName, HolderID: c.HolderID,
		ValidFrom: from, IssuedAt: time.Unix(c.IssuedAt, 0).UTC(),
	}
	if !until.IsZero() {
		l.ValidUntil = &until
	}
	ti := trust.List.Type(c.TypeCode)
	if ti != nil {
		l.TypeName = ti.Name
	}
	order := func(k string) int {
		if ti != nil {
			for i, f := range ti.Fields {
				if f.Key == k {
					return i
				}
			}
		}
		return len(c.Fields) + 1
	}
	l.Fields = make([]Field, 0, len(c.Fields))
	for k, v := range c.Fields {
		f := Field{Key: k, Value: v}
		if i := order(k); ti != nil && i < len(ti.Fields) {
			f.Label = ti.Fields[i].Label
		}
		l.Fields = append(l.Fields, f)
	}
	slices.SortFunc(l.Fields, func(a, b Field) int {
		if oa, ob := order(a.Key), order(b.Key); oa != ob {
			return oa - ob
		}
		return strings.Compare(a.Key, b.Key)
	})
	return l
}
