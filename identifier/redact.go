package identifier

// RedactCitizenIDs returns s with every run that looks like a citizen
// identity number (17 digits and a digit or X, not inside a longer run of
// letters and digits) masked as [MaskHolder] masks it, e.g. in a URL path
// someone typed a holder's number into. It masks whatever has the shape,
// valid check character or not: a mistyped number is still a person's.
func RedactCitizenIDs(s string) string {
	var out []byte
	alnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && alnum(s[j]) {
			j++
		}
		if j == i {
			i++
			continue
		}
		if j-i == 18 && isIDShape(s[i:j]) {
			if out == nil {
				out = []byte(s)
			}
			copy(out[i:j], MaskHolder(HolderCitizenID, s[i:j]))
		}
		i = j
	}
	if out == nil {
		return s
	}
	return string(out)
}

func isIDShape(s string) bool {
	for i := range 17 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	c := s[17]
	return c >= '0' && c <= '9' || c == 'X' || c == 'x'
}
