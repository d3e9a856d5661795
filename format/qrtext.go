package format

import (
	"strings"
)

// QR text prefixes: an upper-case kind letter pair and the format version,
// then a colon. Everything after the colon is Base45 of a signed envelope.
const (
	PrefixCredential    = "LC1:"
	PrefixPresentation  = "LP1:"
	PrefixAnnotatedCopy = "LA1:"
)

// MaxQRText is the longest QR text accepted: the alphanumeric capacity of
// the largest QR code (version 40, level L).
const MaxQRText = 4296

// QRText returns the QR text of a signed object of kind k.
func QRText(k Kind, s Signed) string {
	return prefixOf(k) + EncodeBase45(s.Encode())
}

func prefixOf(k Kind) string {
	switch k {
	case KindCredential:
		return PrefixCredential
	case KindPresentation:
		return PrefixPresentation
	case KindAnnotatedCopy:
		return PrefixAnnotatedCopy
	}
	panic("format: no qr prefix for " + k.String())
}

// ParseQRText splits a QR text into its kind and envelope bytes. It accepts
// only the canonical text: a known prefix, then Base45 with no spaces
// trimmed, no lower case, no line breaks. Scanner noise such as a trailing
// CR/LF must be removed by the caller, which knows where the text came from.
func ParseQRText(text string) (Kind, []byte, error) {
	const what = "qr text"
	if len(text) > MaxQRText {
		return 0, nil, parseErr(what, ProblemTooLarge, "%d characters, at most %d", len(text), MaxQRText)
	}
	var k Kind
	switch {
	case strings.HasPrefix(text, PrefixCredential):
		k = KindCredential
	case strings.HasPrefix(text, PrefixPresentation):
		k = KindPresentation
	case strings.HasPrefix(text, PrefixAnnotatedCopy):
		k = KindAnnotatedCopy
	default:
		p := text
		if i := strings.IndexByte(p, ':'); i >= 0 && i < 8 {
			p = p[:i+1]
		} else if len(p) > 4 {
			p = p[:4]
		}
		return 0, nil, parseErr(what, ProblemPrefix, "prefix %q, want %s, %s or %s", p, PrefixCredential, PrefixPresentation, PrefixAnnotatedCopy)
	}
	b, err := DecodeBase45(text[len(prefixOf(k)):])
	if err != nil {
		return 0, nil, &ParseError{What: what, Problem: ProblemBase45, Err: err}
	}
	if len(b) == 0 {
		return 0, nil, parseErr(what, ProblemFormat, "nothing after the prefix")
	}
	return k, b, nil
}
