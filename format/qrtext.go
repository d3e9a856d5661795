package format

import (
	"net/url"
	"strings"
)

// QR text prefixes: an upper-case kind letter pair and the format version,
// then a colon. After the colon comes the signed envelope: Base45 in
// version 1, Base41 (URL-safe) in version 2.
const (
	PrefixCredential    = "LC1:"
	PrefixPresentation  = "LP1:"
	PrefixAnnotatedCopy = "LA1:"

	PrefixCredential2    = "LC2:"
	PrefixPresentation2  = "LP2:"
	PrefixAnnotatedCopy2 = "LA2:"
)

// URLPath is the path, below an issuer's public URL, of the verification
// page that a version-2 QR URL opens: the QR text follows it.
const URLPath = "/V/"

// MaxQRText is the longest QR text accepted: the alphanumeric capacity of
// the largest QR code (version 40, level L).
const MaxQRText = 4296

// QRText returns the version-1 QR text of a signed object of kind k.
func QRText(k Kind, s Signed) string {
	return prefixOf(k, 1) + EncodeBase45(s.Encode())
}

// QRText2 returns the version-2 QR text of a signed object of kind k: its
// prefix and the Base41 of the envelope, with no character a URL path
// changes.
func QRText2(k Kind, s Signed) string {
	return prefixOf(k, 2) + EncodeBase41(s.Encode())
}

// QRURL returns the version-2 QR text of s as a URL of the public
// verification page under base (an issuer's public URL, such as
// "https://verify.example.gov.cn"): scheme and host in upper case, then
// base's path, URLPath and the text. The whole URL stays in the QR
// alphanumeric set, so base's path, if any, must already be upper case.
func QRURL(base string, k Kind, s Signed) (string, error) {
	b, err := URLBase(base)
	if err != nil {
		return "", err
	}
	return b + QRText2(k, s), nil
}

// URLBase returns the prefix QRURL puts before a version-2 text: base
// with its scheme and host upper-cased, no trailing slash, then URLPath.
func URLBase(base string) (string, error) {
	const what = "public url"
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return "", parseErr(what, ProblemFormat, "%v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", parseErr(what, ProblemFormat, "%q: want http(s)://host[:port][/PATH] with no user, query or fragment", base)
	}
	out := strings.ToUpper(u.Scheme+"://"+u.Host) + u.EscapedPath() + URLPath
	for i := 0; i < len(out); i++ {
		if base45Value[out[i]] < 0 {
			return "", parseErr(what, ProblemFormat, "%q: %q is outside the QR alphanumeric set (a path must be upper case)", base, out[i])
		}
	}
	return out, nil
}

func prefixOf(k Kind, version int) string {
	switch {
	case k == KindCredential && version == 1:
		return PrefixCredential
	case k == KindPresentation && version == 1:
		return PrefixPresentation
	case k == KindAnnotatedCopy && version == 1:
		return PrefixAnnotatedCopy
	case k == KindCredential && version == 2:
		return PrefixCredential2
	case k == KindPresentation && version == 2:
		return PrefixPresentation2
	case k == KindAnnotatedCopy && version == 2:
		return PrefixAnnotatedCopy2
	case k == KindDocumentReceipt && version == 2:
		return PrefixDocumentReceipt2
	}
	panic("format: no qr prefix for " + k.String())
}

// QR is a parsed QR text.
type QR struct {
	// Kind is the object the text carries: credential, presentation,
	// annotated copy or document receipt.
	Kind Kind
	// Version is the text's format version, 1 or 2.
	Version int
	// Envelope is the signed envelope, decoded from Base45 or Base41.
	Envelope []byte
	// Host is the host of a QR URL, as written; empty for a plain text.
	// It is shown, never trusted: trust comes from signatures only.
	Host string
}

// ParseQRText splits a QR text into its kind and envelope bytes; see ParseQR.
func ParseQRText(text string) (Kind, []byte, error) {
	q, err := ParseQR(text)
	return q.Kind, q.Envelope, err
}

// ParseQR parses a QR text: a plain text (LC1:, LP1:, LA1: and Base45, or
// LC2:, LP2:, LA2:, LD2: and Base41) or a QR URL, http(s)://host/…/ followed by a
// version-2 text. It accepts only the canonical text: no spaces trimmed, no
// lower case after the host, no line breaks, no query or fragment. Scanner
// noise such as a trailing CR/LF must be removed by the caller, which knows
// where the text came from.
func ParseQR(text string) (QR, error) {
	const what = "qr text"
	if len(text) > MaxQRText {
		return QR{}, parseErr(what, ProblemTooLarge, "%d characters, at most %d", len(text), MaxQRText)
	}
	var q QR
	if scheme, ok := urlScheme(text); ok {
		rest := text[len(scheme):]
		slash := strings.IndexByte(rest, '/')
		if slash <= 0 {
			return QR{}, parseErr(what, ProblemPrefix, "url without a host and path")
		}
		if strings.Contains(rest, "://") {
			return QR{}, parseErr(what, ProblemTrailing, "a second url after the first (two scans run together?)")
		}
		if i := strings.IndexAny(rest, "?#%"); i >= 0 {
			return QR{}, parseErr(what, ProblemPrefix, "url with %q at %d: an elicence url has no query, fragment or escape", rest[i], len(scheme)+i)
		}
		q.Host = rest[:slash]
		text = rest[strings.LastIndexByte(rest, '/')+1:]
		if !hasV2Prefix(text) {
			return QR{}, parseErr(what, ProblemPrefix, "url does not end in %s, %s, %s or %s and the text", PrefixCredential2, PrefixPresentation2, PrefixAnnotatedCopy2, PrefixDocumentReceipt2)
		}
	}
	switch {
	case strings.HasPrefix(text, PrefixCredential):
		q.Kind, q.Version = KindCredential, 1
	case strings.HasPrefix(text, PrefixPresentation):
		q.Kind, q.Version = KindPresentation, 1
	case strings.HasPrefix(text, PrefixAnnotatedCopy):
		q.Kind, q.Version = KindAnnotatedCopy, 1
	case strings.HasPrefix(text, PrefixCredential2):
		q.Kind, q.Version = KindCredential, 2
	case strings.HasPrefix(text, PrefixPresentation2):
		q.Kind, q.Version = KindPresentation, 2
	case strings.HasPrefix(text, PrefixAnnotatedCopy2):
		q.Kind, q.Version = KindAnnotatedCopy, 2
	case strings.HasPrefix(text, PrefixDocumentReceipt2):
		q.Kind, q.Version = KindDocumentReceipt, 2
	default:
		p := text
		if i := strings.IndexByte(p, ':'); i >= 0 && i < 8 {
			p = p[:i+1]
		} else if len(p) > 4 {
			p = p[:4]
		}
		return QR{}, parseErr(what, ProblemPrefix, "prefix %q, want %s, %s, %s, %s, %s, %s or %s, or an elicence url", p,
			PrefixCredential, PrefixPresentation, PrefixAnnotatedCopy, PrefixCredential2, PrefixPresentation2, PrefixAnnotatedCopy2, PrefixDocumentReceipt2)
	}
	body := text[len(prefixOf(q.Kind, q.Version)):]
	var err error
	if q.Version == 1 {
		q.Envelope, err = DecodeBase45(body)
	} else {
		q.Envelope, err = DecodeBase41(body)
	}
	if err != nil {
		return QR{}, &ParseError{What: what, Problem: ProblemBase45, Err: err}
	}
	if len(q.Envelope) == 0 {
		return QR{}, parseErr(what, ProblemFormat, "nothing after the prefix")
	}
	return q, nil
}

// urlScheme returns the "http://" or "https://" that text starts with, in
// any case.
func urlScheme(text string) (string, bool) {
	for _, s := range [...]string{"https://", "http://"} {
		if len(text) >= len(s) && strings.EqualFold(text[:len(s)], s) {
			return text[:len(s)], true
		}
	}
	return "", false
}

func hasV2Prefix(text string) bool {
	return strings.HasPrefix(text, PrefixCredential2) || strings.HasPrefix(text, PrefixPresentation2) || strings.HasPrefix(text, PrefixAnnotatedCopy2) ||
		strings.HasPrefix(text, PrefixDocumentReceipt2)
}
