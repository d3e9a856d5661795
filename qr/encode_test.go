package qr

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	goqr "github.com/piglig/go-qr"

	"elicence/internal/testenv"
)

// refLevel maps a Level to the reference implementation's.
var refLevel = map[Level]goqr.Ecc{LevelL: goqr.Low, LevelM: goqr.Medium, LevelQ: goqr.Quartile, LevelH: goqr.High}

// reference encodes text as one segment of mode m with the reference encoder
// (github.com/piglig/go-qr, a port of Project Nayuki's QR Code generator, which
// implements the penalty rules of ISO/IEC 18004:2015 section 7.8.3), at the
// smallest version, without raising the level, choosing the mask itself when
// mask is -1.
func reference(t *testing.T, text string, m mode, level Level, mask int) (version int, bitmap [][]bool) {
	t.Helper()
	var seg *goqr.QrSegment
	var err error
	if m == modeByte {
		seg, err = goqr.MakeBytes([]byte(text))
	} else {
		seg, err = goqr.MakeAlphanumeric(text)
	}
	if err != nil {
		t.Fatal(err)
	}
	q, err := goqr.EncodeSegments([]*goqr.QrSegment{seg}, refLevel[level], 1, 40, mask, false)
	if err != nil {
		t.Fatal(err)
	}
	n := q.Size()
	bitmap = make([][]bool, n)
	for y := range n {
		bitmap[y] = make([]bool, n)
		for x := range n {
			bitmap[y][x] = q.Module(x, y)
		}
	}
	return (n - 17) / 4, bitmap
}

// byteText returns n bytes of text that alphanumeric mode cannot hold (lower
// case letters, punctuation, UTF-8).
func byteText(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 8))
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789/?=&._~-"
	b := []byte("https://licences.example.gov.cn/v/")
	for len(b) < n {
		if r.IntN(50) == 0 {
			b = append(b, "证"...)
			continue
		}
		b = append(b, chars[r.IntN(len(chars))])
	}
	return string(b[:n])
}

// urlText returns an upper-case URL text of n characters in the alphanumeric
// set, as the public-scanning QR texts are.
func urlText(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 45))
	b := []byte("HTTPS://LICENCES.EXAMPLE.GOV.CN/V/")
	for len(b) < n {
		b = append(b, base45Alphabet[r.IntN(len(base45Alphabet))])
	}
	return string(b[:n])
}

func sameBitmap(a, b [][]bool) (x, y int, same bool) {
	if len(a) != len(b) {
		return -1, -1, false
	}
	for y := range a {
		for x := range a[y] {
			if a[y][x] != b[y][x] {
				return x, y, false
			}
		}
	}
	return 0, 0, true
}

// TestEncodeMatchesReference holds the encoder's symbols to the reference's bit
// for bit, mask choice included, for alphanumeric and byte texts at every
// level, over lengths that reach every version from 1 to 40.
func TestEncodeMatchesReference(t *testing.T) {
	for _, level := range allLevels {
		for v := 1; v <= 40; v++ {
			// The longest alphanumeric text of version v and a shorter one.
			capA := alphanumericCapacity(v, level)
			for i, n := range []int{capA, max(1, capA-int(uint(v*7)%9)-1)} {
				for _, m := range []mode{modeAlphanumeric, modeByte} {
					var text string
					if m == modeByte {
						text = byteText(n*6/11, uint64(v*10+i))
						if text == "" {
							text = "a"
						}
					} else {
						text = urlText(n, uint64(v*10+i))
					}
					c, err := encodeSegment(text, m, level, -1)
					if err != nil {
						t.Fatalf("%d-%v mode %d: %v", v, level, m, err)
					}
					rv, ref := reference(t, text, m, level, -1)
					if c.Version() != rv {
						t.Fatalf("%d bytes mode %d at %v: version %d, reference %d", len(text), m, level, c.Version(), rv)
					}
					if x, y, ok := sameBitmap(c.modules, ref); !ok {
						t.Fatalf("%d bytes mode %d at %d-%v: module (%d, %d) differs from the reference", len(text), m, rv, level, x, y)
					}
				}
			}
		}
	}
}

// TestEveryMaskMatchesReference draws each of the eight masks and compares the
// symbol with the reference's with that mask forced: the mask patterns and the
// format information of every mask and level.
func TestEveryMaskMatchesReference(t *testing.T) {
	for _, level := range allLevels {
		for _, v := range []int{1, 2, 7, 11, 12, 25, 40} {
			text := urlText(alphanumericCapacity(v, level), uint64(v))
			for mask := range 8 {
				c, err := encodeSegment(text, modeAlphanumeric, level, mask)
				if err != nil {
					t.Fatal(err)
				}
				_, ref := reference(t, text, modeAlphanumeric, level, mask)
				if x, y, ok := sameBitmap(c.modules, ref); !ok {
					t.Fatalf("%d-%v mask %d: module (%d, %d) differs from the reference", v, level, mask, x, y)
				}
			}
		}
	}
}

// TestMaskChoiceFollowsPenalties checks, with a plain transcription of the four
// penalty rules of ISO/IEC 18004:2015 section 7.8.3.1 kept apart from the
// encoder's, that the mask chosen has the lowest penalty of the eight (and is
// the lowest numbered among equals).
func TestMaskChoiceFollowsPenalties(t *testing.T) {
	for i, text := range []string{
		credentialText(375), credentialText(40), urlText(339, 1), urlText(120, 2), letterText(200),
	} {
		for _, level := range allLevels {
			chosen, err := Encode(text, level)
			if err != nil {
				t.Fatal(err)
			}
			best, bestScore := -1, 0
			scores := make([]int, 8)
			for mask := range 8 {
				c, err := encodeSegment(text, modeAlphanumeric, level, mask)
				if err != nil {
					t.Fatal(err)
				}
				scores[mask] = plainPenalty(c.modules)
				if best < 0 || scores[mask] < bestScore {
					best, bestScore = mask, scores[mask]
				}
			}
			want, _ := encodeSegment(text, modeAlphanumeric, level, best)
			if _, _, ok := sameBitmap(chosen.modules, want.modules); !ok {
				t.Errorf("text %d at %v: encoder did not choose mask %d (penalties %v)", i, level, best, scores)
			}
		}
	}
}

// plainPenalty is the penalty of a symbol by the rules as the standard states
// them, module by module.
func plainPenalty(m [][]bool) int {
	n := len(m)
	at := func(x, y int) bool { return x >= 0 && y >= 0 && x < n && y < n && m[y][x] } // outside is light
	score := 0
	for _, vertical := range []bool{false, true} {
		get := func(i, j int) bool {
			if vertical {
				return at(i, j)
			}
			return at(j, i)
		}
		for i := range n {
			// Rule 1: a run of 5 + k modules of one colour scores 3 + k.
			for j := 0; j < n; {
				k := j
				for k < n && get(i, k) == get(i, j) {
					k++
				}
				if k-j >= 5 {
					score += 3 + (k - j - 5)
				}
				j = k
			}
			// Rule 3: dark, light, dark, light, dark in the ratio 1:1:3:1:1
			// (any module width u), with a light area of 4u before or after
			// it (outside the symbol is light), scores 40; with both, twice.
			// The runs of the line, the outside counted as light runs.
			runs := []int{n}
			colour := false
			for j := range n {
				if get(i, j) != colour {
					runs = append(runs, 0)
					colour = !colour
				}
				runs[len(runs)-1]++
			}
			if colour {
				runs = append(runs, 0)
			}
			runs[len(runs)-1] += n
			// runs[0] is light, so runs[k] is dark for odd k.
			for k := 1; k+5 < len(runs); k += 2 {
				u := runs[k]
				if runs[k+1] != u || runs[k+2] != 3*u || runs[k+3] != u || runs[k+4] != u {
					continue
				}
				before, after := runs[k-1], runs[k+5]
				if before >= 4*u && after >= u {
					score += 40
				}
				if after >= 4*u && before >= u {
					score += 40
				}
			}
		}
	}
	// Rule 2: each 2×2 block of one colour scores 3.
	dark := 0
	for y := range n {
		for x := range n {
			if m[y][x] {
				dark++
			}
			if x+1 < n && y+1 < n && m[y][x] == m[y][x+1] && m[y][x] == m[y+1][x] && m[y][x] == m[y+1][x+1] {
				score += 3
			}
		}
	}
	// Rule 4: 10 × k for a dark share outside 50 ± 5k % but inside
	// 50 ± 5(k+1) %.
	dev := dark*100 - 50*n*n
	if dev < 0 {
		dev = -dev
	}
	k := 0
	for dev > 5*(k+1)*n*n {
		k++
	}
	return score + 10*k
}

// TestVersionsOfURLTexts checks that upper-case URL texts go in alphanumeric
// mode: a 339-character one fits version 11 at level M (byte mode would need
// version 15).
func TestVersionsOfURLTexts(t *testing.T) {
	text := urlText(339, 7)
	c, err := Encode(text, LevelM)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() > 11 {
		t.Fatalf("339-character URL text: version %d-M, want 11 or smaller", c.Version())
	}
	if b, _ := encodeSegment(text, modeByte, LevelM, -1); b.Version() <= c.Version() {
		t.Fatalf("byte mode version %d is not larger than %d: the test does not tell the modes apart", b.Version(), c.Version())
	}
}

// TestZbarimgReadsEveryVersion has zbarimg read a symbol of every version at
// every level, in alphanumeric mode (upper-case URL texts) and byte mode.
func TestZbarimgReadsEveryVersion(t *testing.T) {
	zbarimg := testenv.RequireTool(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	var files []string
	want := map[string]string{}
	for _, level := range allLevels {
		for v := 1; v <= 40; v++ {
			for _, m := range []mode{modeAlphanumeric, modeByte} {
				var text string
				if m == modeByte {
					text = byteText(alphanumericCapacity(v, level)*6/11, uint64(v))
					if text == "" {
						text = "h"
					}
				} else {
					text = urlText(alphanumericCapacity(v, level), uint64(v))
				}
				c, err := encodeSegment(text, m, level, -1)
				if err != nil {
					t.Fatal(err)
				}
				png, err := c.PNG(Options{ModulePixels: 3})
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("%d-%v-%d.png", c.Version(), level, m)
				file := filepath.Join(dir, name)
				if err := os.WriteFile(file, png, 0o600); err != nil {
					t.Fatal(err)
				}
				files = append(files, file)
				want[name] = text
			}
		}
	}
	// One zbarimg per file: a batch run's output cannot be told apart by file
	// when a text has a newline, and ours do not, but a missed file must show.
	for _, file := range files {
		out, err := exec.Command(zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", "-Sbinary", file).Output()
		name := filepath.Base(file)
		if err != nil {
			t.Errorf("%s: zbarimg: %v", name, err)
			continue
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != want[name] {
			t.Errorf("%s: zbarimg read %q, want %q", name, got, want[name])
		}
	}
}

// TestPenaltyMatchesPlain holds the encoder's bit-line penalty to the plain
// transcription of the rules, score for score, for every mask of symbols of
// several versions and levels, and of symbols made of random modules (whose
// runs and finder-like patterns fall anywhere, words' edges included).
func TestPenaltyMatchesPlain(t *testing.T) {
	check := func(name string, m [][]bool) {
		t.Helper()
		n := len(m)
		rows, cols := make([]line, n), make([]line, n)
		for y := range n {
			for x := range n {
				if m[y][x] {
					setLines(rows, cols, x, y)
				}
			}
		}
		if got, want := penalty(rows, cols, n), plainPenalty(m); got != want {
			t.Errorf("%s: penalty %d, plain rules %d", name, got, want)
		}
	}
	for _, level := range allLevels {
		for _, v := range []int{1, 3, 12, 16, 40} {
			text := urlText(alphanumericCapacity(v, level)-int(uint(v)%5), uint64(v)+7)
			for mask := range 8 {
				c, err := encodeSegment(text, modeAlphanumeric, level, mask)
				if err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("%d-%v mask %d", c.Version(), level, mask), c.modules)
			}
		}
	}
	rng := rand.New(rand.NewPCG(14, 3))
	for i := range 200 {
		n := 17 + 4*(1+rng.IntN(40))
		// Mostly long runs, so that rule 1 and the 1:1:3:1:1 pattern at
		// several module widths occur.
		m := make([][]bool, n)
		for y := range n {
			m[y] = make([]bool, n)
			dark := rng.IntN(2) == 0
			for x := range n {
				if rng.IntN(3) == 0 {
					dark = !dark
				}
				m[y][x] = dark
			}
		}
		check(fmt.Sprintf("random %d (%d modules)", i, n), m)
	}
}
