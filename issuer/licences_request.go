package issuer

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"elicence/format"
	"elicence/identifier"
	"elicence/issuer/kind"
)

// Request is a request to issue one licence, as departments send it.
type Request struct {
	// Type is the licence type code.
	Type string `json:"type"`
	// HolderName is the person's or enterprise's name.
	HolderName string `json:"holder_name"`
	// HolderID is the holder's full citizen ID number or unified social
	// credit code, as the type requires. It is stored, never put in a QR code.
	HolderID string `json:"holder_id"`
	// ValidFrom is the first day of validity, YYYY-MM-DD (China time).
	ValidFrom string `json:"valid_from"`
	// ValidUntil is the last day of validity, YYYY-MM-DD; empty takes the
	// type's default validity, "长期" or "permanent" means no end date.
	ValidUntil string `json:"valid_until,omitempty"`
	// Fields are the type's fields by key.
	Fields map[string]string `json:"fields,omitempty"`
}

// FieldError is one reason a request is refused.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every reason a request is refused.
type ValidationError struct {
	Errors []FieldError
}

// Kind returns kind.Validation.
func (e *ValidationError) Kind() kind.Kind { return kind.Validation }

// Error returns the first reason and how many there are.
func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid request"
	}
	s := fmt.Sprintf("invalid request: %s: %s", e.Errors[0].Field, e.Errors[0].Reason)
	if n := len(e.Errors) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more)", n)
	}
	return s
}

const dateLayout = "2006-01-02"

// Validated is a request that passed validation, with its dates resolved.
type Validated struct {
	Request
	HolderKind identifier.HolderKind
	From       time.Time
	// Until is the exclusive end of validity; zero when open-ended.
	Until time.Time
}

// Validate checks req against the licence type t at time now and returns
// every problem as a *ValidationError.
func (req *Request) Validate(t *LicenceType, now time.Time) (*Validated, error) {
	var errs []FieldError
	add := func(field, reason string, args ...any) {
		errs = append(errs, FieldError{Field: field, Reason: fmt.Sprintf(reason, args...)})
	}
	if req.Type != t.Code {
		add("type", "licence type %q does not match %q", req.Type, t.Code)
	}
	switch n := runeLen(req.HolderName); {
	case strings.TrimSpace(req.HolderName) == "":
		add("holder_name", "required")
	case n > 64:
		add("holder_name", "%d characters, at most 64", n)
	case strings.TrimSpace(req.HolderName) != req.HolderName:
		add("holder_name", "leading or trailing spaces")
	}
	kind := t.Holder.Identifier()
	if req.HolderID == "" {
		add("holder_id", "required")
	} else if err := identifier.ValidateHolder(kind, req.HolderID, now); err != nil {
		add("holder_id", "%s", reasonOf(err))
	}
	v := &Validated{Request: *req, HolderKind: kind}
	from, err := time.ParseInLocation(dateLayout, req.ValidFrom, chinaTime)
	if err != nil {
		add("valid_from", "want a date YYYY-MM-DD")
	}
	v.From = from
	switch strings.ToLower(req.ValidUntil) {
	case "":
		if t.ValidityDays > 0 && err == nil {
			v.Until = from.AddDate(0, 0, t.ValidityDays)
		}
	case "长期", "permanent":
	default:
		until, err2 := time.ParseInLocation(dateLayout, req.ValidUntil, chinaTime)
		switch {
		case err2 != nil:
			add("valid_until", "want a date YYYY-MM-DD, or 长期")
		case err == nil && !until.After(from) && !until.Equal(from):
			add("valid_until", "before valid_from %s", req.ValidFrom)
		default:
			v.Until = until.AddDate(0, 0, 1) // valid through the whole last day
		}
	}
	rules := map[string]*FieldRule{}
	for i := range t.Fields {
		f := &t.Fields[i]
		rules[f.Key] = f
		val, ok := req.Fields[f.Key]
		if !ok || strings.TrimSpace(val) == "" {
			if f.Required {
				add("fields."+f.Key, "required (%s)", f.Label)
			}
			continue
		}
		if n := runeLen(val); n > f.MaxLen {
			add("fields."+f.Key, "%d characters, at most %d", n, f.MaxLen)
		}
		if f.Pattern != "" {
			re, err := fieldPattern(f.Pattern)
			switch {
			case err != nil:
				add("fields."+f.Key, "licence type %s has an invalid pattern", t.Code)
			case !re.MatchString(val):
				add("fields."+f.Key, "does not match the pattern %s", f.Pattern)
			}
		}
	}
	for k := range req.Fields {
		if rules[k] == nil {
			add("fields."+k, "not a field of licence type %s", t.Code)
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return v, nil
}

func reasonOf(err error) string {
	if pe, ok := err.(*identifier.ParseError); ok {
		return pe.Field + ": " + pe.Reason
	}
	return err.Error()
}

// Draft is everything needed to sign a licence once its serial, version and
// status slot are known.
type Draft struct {
	Validated  *Validated
	Type       *LicenceType
	IssuerCode string
	Serial     string
	Version    int
	Status     format.StatusRef
	KeyID      []byte
	IssuedAt   time.Time
}

// Build returns the full record and the unsigned credential of a draft. The
// record gets a fresh random salt.
func (d *Draft) Build() (*format.Record, *format.Credential, error) {
	rec, _, cred, err := d.build()
	return rec, cred, err
}

// build is Build that also returns the record's canonical encoding, which
// the record digest was computed over.
func (d *Draft) build() (*format.Record, []byte, *format.Credential, error) {
	v := d.Validated
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, nil, err
	}
	rec := &format.Record{
		Salt: salt, TypeCode: d.Type.Code, IssuerCode: d.IssuerCode, Serial: d.Serial, Version: uint16(d.Version),
		HolderName: v.HolderName, HolderKind: uint8(v.HolderKind), HolderCode: v.HolderID,
		ValidFrom: v.From.Unix(), Fields: v.Fields,
	}
	if !v.Until.IsZero() {
		rec.ValidUntil = v.Until.Unix()
	}
	if len(rec.Fields) == 0 {
		rec.Fields = nil
	}
	recBytes, digest := rec.EncodeDigest()
	cred := &format.Credential{
		Kind: format.KindCredential, TypeCode: d.Type.Code, IssuerCode: d.IssuerCode, Serial: d.Serial, Version: uint16(d.Version),
		HolderName: v.HolderName, HolderID: identifier.MaskHolder(v.HolderKind, v.HolderID),
		ValidFrom: rec.ValidFrom, ValidUntil: rec.ValidUntil, IssuedAt: d.IssuedAt.Unix(),
		Status: d.Status, KeyID: d.KeyID, RecordDigest: digest,
	}
	for _, f := range d.Type.Fields {
		if val, ok := v.Fields[f.Key]; ok && f.Disclose && val != "" {
			if cred.Fields == nil {
				cred.Fields = map[string]string{}
			}
			cred.Fields[f.Key] = val
		}
	}
	if err := cred.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("build credential: %w", err)
	}
	return rec, recBytes, cred, nil
}
