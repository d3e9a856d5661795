package qr

import (
	"errors"
	"fmt"
)

// Level is a QR error-correction level. Its values are the two format-information
// bits ISO/IEC 18004 assigns to each level, which makes the zero value LevelM, the
// default this project uses everywhere.
type Level int

// The four error-correction levels, with the share of the symbol's codewords that
// can be restored.
const (
	LevelM Level = 0 // about 15 %; the default
	LevelL Level = 1 // about 7 %
	LevelH Level = 2 // about 30 %
	LevelQ Level = 3 // about 25 %
)

// String returns the level's letter: "L", "M", "Q" or "H".
func (l Level) String() string {
	switch l {
	case LevelL:
		return "L"
	case LevelM:
		return "M"
	case LevelQ:
		return "Q"
	case LevelH:
		return "H"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel parses a level letter ("L", "M", "Q" or "H", either case), as given in
// configuration.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "L", "l":
		return LevelL, nil
	case "M", "m":
		return LevelM, nil
	case "Q", "q":
		return LevelQ, nil
	case "H", "h":
		return LevelH, nil
	}
	return 0, fmt.Errorf("parse qr level %q: want L, M, Q or H", s)
}

func (l Level) valid() bool { return l >= LevelM && l <= LevelQ }

// index orders levels from weakest to strongest: L, M, Q, H.
func (l Level) index() int { return [...]int{LevelL: 0, LevelM: 1, LevelQ: 2, LevelH: 3}[l] }

// ErrNotAlphanumeric reports text outside the QR alphanumeric character set
// (0-9, A-Z, space and $%*+-./:). The package encodes nothing else, so that every
// code it makes is in alphanumeric mode.
var ErrNotAlphanumeric = errors.New("text is not in the qr alphanumeric set")

// ErrTooLong reports text that does not fit a version 40 symbol at the requested level.
var ErrTooLong = errors.New("text too long for a qr code")

// dataCodewords is the number of data codewords of each version (index 1 to 40) at
// each level (L, M, Q, H), from ISO/IEC 18004:2015 Table 7.
var dataCodewords = [41][4]int{
	{},
	{19, 16, 13, 9}, {34, 28, 22, 16}, {55, 44, 34, 26}, {80, 64, 48, 36},
	{108, 86, 62, 46}, {136, 108, 76, 60}, {156, 124, 88, 66}, {194, 154, 110, 86},
	{232, 182, 132, 100}, {274, 216, 154, 122}, {324, 254, 180, 140}, {370, 290, 206, 158},
	{428, 334, 244, 180}, {461, 365, 261, 197}, {523, 415, 295, 223}, {589, 453, 325, 253},
	{647, 507, 367, 283}, {721, 563, 397, 313}, {795, 627, 445, 341}, {861, 669, 485, 385},
	{932, 714, 512, 406}, {1006, 782, 568, 442}, {1094, 860, 614, 464}, {1174, 914, 664, 514},
	{1276, 1000, 718, 538}, {1370, 1062, 754, 596}, {1468, 1128, 808, 628}, {1531, 1193, 871, 661},
	{1631, 1267, 911, 701}, {1735, 1373, 985, 745}, {1843, 1455, 1033, 793}, {1955, 1541, 1115, 845},
	{2071, 1631, 1171, 901}, {2191, 1725, 1231, 961}, {2306, 1812, 1286, 986}, {2434, 1914, 1354, 1054},
	{2566, 1992, 1426, 1096}, {2702, 2102, 1502, 1142}, {2812, 2216, 1582, 1222}, {2956, 2334, 1666, 1276},
}

// alphanumericCapacity is the number of alphanumeric-mode characters a symbol of
// the version holds at the level: the data bits less the 4-bit mode indicator and
// the character count indicator (9, 11 or 13 bits), at 11 bits per pair of
// characters and 6 bits for a last odd one. These are the alphanumeric figures of
// ISO/IEC 18004 Table 7.
func alphanumericCapacity(version int, level Level) int {
	countBits := 9
	switch {
	case version >= 27:
		countBits = 13
	case version >= 10:
		countBits = 11
	}
	bits := 8*dataCodewords[version][level.index()] - 4 - countBits
	n := bits / 11 * 2
	if bits%11 >= 6 {
		n++
	}
	return n
}

// isAlphanumeric reports whether c is in the QR alphanumeric character set.
func isAlphanumeric(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
		return true
	}
	switch c {
	case ' ', '$', '%', '*', '+', '-', '.', '/', ':':
		return true
	}
	return false
}

// checkText rejects text this package will not encode.
func checkText(text string) error {
	if text == "" {
		return errors.New("empty text")
	}
	for i := 0; i < len(text); i++ {
		if !isAlphanumeric(text[i]) {
			return fmt.Errorf("%w: byte 0x%02x at offset %d", ErrNotAlphanumeric, text[i], i)
		}
	}
	return nil
}

// VersionFor returns the smallest QR version (1 to 40) whose alphanumeric-mode
// capacity at level holds text, per ISO/IEC 18004 Table 7. Encode never produces a
// larger version. It fails with ErrNotAlphanumeric or ErrTooLong.
func VersionFor(text string, level Level) (int, error) {
	v, err := versionFor(text, level)
	if err != nil {
		return 0, fmt.Errorf("qr version: %w", err)
	}
	return v, nil
}

// versionFor is VersionFor without the error context.
func versionFor(text string, level Level) (int, error) {
	if !level.valid() {
		return 0, fmt.Errorf("invalid level %d", int(level))
	}
	if err := checkText(text); err != nil {
		return 0, err
	}
	for v := 1; v <= 40; v++ {
		if len(text) <= alphanumericCapacity(v, level) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: %d characters, at most %d at level %v",
		ErrTooLong, len(text), alphanumericCapacity(40, level), level)
}
