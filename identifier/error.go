package identifier

// ParseError reports why a code or identifier was rejected. Subject names
// what was being read ("licence identifier", "citizen id number",
// "unified social credit code", "holder code"), Field names the part at
// fault (for example "prefix", "type code", "birth date",
// "check character") and Reason says what is wrong with it. All three are
// lower-case, safe to show to the person who typed the input, and never
// contain the input in full.
type ParseError struct {
	Subject string
	Field   string
	Reason  string
}

// Error returns "subject: field: reason", for example
// "licence identifier: check character: want S, got T".
func (e *ParseError) Error() string {
	if e.Field == "" {
		return e.Subject + ": " + e.Reason
	}
	return e.Subject + ": " + e.Field + ": " + e.Reason
}
