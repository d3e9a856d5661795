package verifier

import "time"

// Indication is the overall result, after ETSI EN 319 102-1.
type Indication string

// Indications.
const (
	Passed        Indication = "PASSED"
	Failed        Indication = "FAILED"
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication names the first reason a verification did not pass.
type SubIndication string

// Sub-indications. Each failure has its own, so that a counter page, a log
// or a test can tell them apart.
const (
	UnsupportedFormat       SubIndication = "UNSUPPORTED_FORMAT"         // unknown prefix or version
	EncodingFailure         SubIndication = "ENCODING_FAILURE"           // invalid Base45
	FormatFailure           SubIndication = "FORMAT_FAILURE"             // malformed or truncated CBOR, bad fields
	TrailingData            SubIndication = "TRAILING_DATA"              // bytes after the signed object
	NonCanonical            SubIndication = "NON_CANONICAL"              // decodes, but not the one canonical encoding
	InputTooLarge           SubIndication = "INPUT_TOO_LARGE"            // longer than any QR code holds
	UnknownIssuer           SubIndication = "UNKNOWN_ISSUER"             // issuing department not in the trust list
	UnknownKey              SubIndication = "UNKNOWN_KEY"                // signing key not in the trust list
	SigCryptoFailure        SubIndication = "SIG_CRYPTO_FAILURE"         // signature does not verify
	KeyCompromised          SubIndication = "KEY_COMPROMISED"            // signed by a compromised key, whatever time it claims
	KeyRetired              SubIndication = "KEY_RETIRED"                // new object signed by a retired key
	TypeNotAuthorised       SubIndication = "TYPE_NOT_AUTHORISED"        // department may not issue this type
	NotYetValid             SubIndication = "NOT_YET_VALID"              // before the licence's validity
	Expired                 SubIndication = "EXPIRED"                    // after the licence's validity
	PresentationNotYetValid SubIndication = "PRESENTATION_NOT_YET_VALID" // dynamic QR from the future
	PresentationExpired     SubIndication = "PRESENTATION_EXPIRED"       // dynamic QR too old
	FutureDated             SubIndication = "FUTURE_DATED"               // issued-at beyond the clock-skew tolerance
	LifetimeTooLong         SubIndication = "LIFETIME_TOO_LONG"          // presentation or annotated copy lives longer than an issuer may give
	AnnotationExpired       SubIndication = "ANNOTATION_EXPIRED"         // annotated copy past its expiry
	WrongRelyingDepartment  SubIndication = "WRONG_RELYING_DEPARTMENT"   // annotated copy shown elsewhere
	Revoked                 SubIndication = "REVOKED"                    // status list says revoked
	Suspended               SubIndication = "SUSPENDED"                  // status list says suspended
	HashFailure             SubIndication = "HASH_FAILURE"               // record does not match the digest
	TryLater                SubIndication = "TRY_LATER"                  // trust or status data unavailable or stale
	StatusUnknown           SubIndication = "STATUS_UNKNOWN"             // status list holds a value we do not know
)

// Result is the outcome of one check.
type Result string

// Check results. Skipped checks did not run because an earlier one failed.
const (
	CheckPassed        Result = "PASSED"
	CheckFailed        Result = "FAILED"
	CheckIndeterminate Result = "INDETERMINATE"
	CheckSkipped       Result = "SKIPPED"
)

// Check names, in the order they run.
const (
	CheckFormat       = "format"
	CheckTrustList    = "trust_list"
	CheckIssuer       = "issuer"
	CheckSignature    = "signature"
	CheckKeyState     = "key_state"
	CheckAuthorised   = "type_authorised"
	CheckValidity     = "validity"
	CheckPresentation = "presentation"
	CheckAnnotation   = "annotation"
	CheckStatus       = "status"
)

// Check is one check with its result.
type Check struct {
	Name   string `json:"name"`
	Result Result `json:"result"`
	Detail string `json:"detail,omitempty"`
}

// Report is the verification report: one indication, the first reason, every
// check, and what was verified.
type Report struct {
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"sub_indication,omitempty"`
	// Reason says in words why, for people; SubIndication is for programs.
	Reason string `json:"reason,omitempty"`
	// Kind is "credential", "presentation" or "annotated copy".
	Kind       string        `json:"kind,omitempty"`
	Checks     []Check       `json:"checks"`
	Licence    *Licence      `json:"licence,omitempty"`
	Issuer     *Issuer       `json:"issuer,omitempty"`
	Status     *StatusReport `json:"status,omitempty"`
	Validity   *Window       `json:"presentation,omitempty"`
	Annotation *Annotation   `json:"annotation,omitempty"`
	// Document is what a document receipt says, reported once its
	// signature has verified (kind "document receipt").
	Document *Document `json:"document,omitempty"`
	// LogProof names the issuance-log checkpoint that proved the object
	// existed before its key was compromised or retired, when that is what
	// let the key_state check pass.
	LogProof   *LogProof `json:"log_proof,omitempty"`
	VerifiedAt time.Time `json:"verified_at"`
}

// Document is what a signed document's receipt discloses: its
// identifier, title, number (文号) and signing time; the signing
// department is the report's Issuer.
type Document struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Number   string    `json:"number,omitempty"`
	SignedAt time.Time `json:"signed_at"`
	// SM3 is the receipt's binding (hex): the SM3 of the file as it was
	// submitted for signing.
	SM3 string `json:"sm3"`
	// File is how the file was checked: "pdf" (its embedded signature),
	// "p7s" (a detached signature), or "" for a receipt QR text alone,
	// which says what was signed but proves nothing about a file in hand.
	File string `json:"file,omitempty"`
}

// Licence is what the credential discloses. It is reported only once the
// signature has verified.
type Licence struct {
	ID         string     `json:"id"`
	TypeCode   string     `json:"type_code"`
	TypeName   string     `json:"type_name,omitempty"`
	HolderName string     `json:"holder_name"`
	HolderID   string     `json:"holder_id"`
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	IssuedAt   time.Time  `json:"issued_at"`
	Fields     []Field    `json:"fields,omitempty"`
}

// Field is one disclosed field, labelled from the trust list's catalogue.
type Field struct {
	Key   string `json:"key"`
	Label string `json:"label,omitempty"`
	Value string `json:"value"`
}

// Issuer is the issuing department and the key that signed.
type Issuer struct {
	Code     string `json:"code"`
	Name     string `json:"name,omitempty"`
	KeyID    string `json:"key_id"`
	KeyState string `json:"key_state,omitempty"`
}

// StatusReport tells what the status list said and how fresh it was.
type StatusReport struct {
	List  string `json:"list"`
	Index uint32 `json:"index"`
	// Value is "valid", "revoked" or "suspended"; empty when unknown.
	Value string `json:"value,omitempty"`
	// Reason and ChangedAt say why and when a revoked or suspended licence
	// became so, when the status list's details say it (the issuer's
	// reason codes: "penalty", "cancelled", "superseded" …); empty for
	// a list without details.
	Reason    string    `json:"reason,omitempty"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	// AgeSeconds is how old the list was at verification.
	AgeSeconds int64     `json:"age_seconds"`
	TTLSeconds uint32    `json:"ttl_seconds,omitempty"`
	FetchedAt  time.Time `json:"fetched_at,omitzero"`
	// Source says where the list came from: "http", "stream", "file".
	Source string `json:"source,omitempty"`
}

// Window is the validity of a dynamic presentation token.
type Window struct {
	NotBefore time.Time `json:"not_before"`
	Expires   time.Time `json:"expires"`
}

// Annotation is what an annotated copy (加注件) states.
type Annotation struct {
	RelyingDepartment     string    `json:"relying_department"`
	RelyingDepartmentName string    `json:"relying_department_name,omitempty"`
	Purpose               string    `json:"purpose"`
	IssuedAt              time.Time `json:"issued_at"`
	Expires               time.Time `json:"expires"`
}

// because words the status reason for Report.Reason: "" without one.
func (s *StatusReport) because() string {
	if s.Reason == "" {
		return ""
	}
	return " (" + s.Reason + ", " + s.ChangedAt.Format(time.RFC3339) + ")"
}
