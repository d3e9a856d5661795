package qr

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"

	"elicence/internal/testenv"
)

// base45Alphabet is the Base45 alphabet (RFC 9285), all of it in the QR
// alphanumeric set.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// credentialText returns a deterministic credential-like text of n characters:
// "LC1:" and pseudo-random Base45 characters.
func credentialText(n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 45))
	b := []byte("LC1:")
	for len(b) < n {
		b = append(b, base45Alphabet[r.IntN(len(base45Alphabet))])
	}
	return string(b[:n])
}

// letterText returns n characters of alphanumeric text without digit runs, so
// that numeric mode can never shorten it and alphanumeric mode alone decides the
// version.
func letterText(n int) string {
	const cycle = "ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	return strings.Repeat(cycle, n/len(cycle)+1)[:n]
}

// darkAt reports whether module (x, y) of bitmap drawn inside a quiet zone of q
// modules is dark.
func darkAt(bitmap [][]bool, x, y, q int) bool {
	x, y = x-q, y-q
	return y >= 0 && y < len(bitmap) && x >= 0 && x < len(bitmap[y]) && bitmap[y][x]
}

var allLevels = []Level{LevelL, LevelM, LevelQ, LevelH}

func mustPNG(t testing.TB, text string, opts Options) []byte {
	t.Helper()
	data, err := PNG(text, opts)
	if err != nil {
		t.Fatalf("PNG(%d chars): %v", len(text), err)
	}
	return data
}

func TestRoundTripPNG(t *testing.T) {
	for _, n := range []int{20, 300, 600} {
		for _, level := range allLevels {
			text := credentialText(n)
			got, err := DecodeBytes(mustPNG(t, text, Options{Level: level}))
			if err != nil {
				t.Fatalf("%d chars, level %v: DecodeBytes: %v", n, level, err)
			}
			if got != text {
				t.Fatalf("%d chars, level %v: decoded %q, want %q", n, level, got, text)
			}
		}
	}
}

func TestRoundTripJPEG(t *testing.T) {
	for _, n := range []int{20, 300, 600} {
		text := credentialText(n)
		img, err := png.Decode(bytes.NewReader(mustPNG(t, text, Options{})))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("%d chars: DecodeBytes(JPEG): %v", n, err)
		}
		if got != text {
			t.Fatalf("%d chars: decoded %q, want %q", n, got, text)
		}
	}
}

// TestZbarimg has an independent decoder, ZBar, read our PNGs.
func TestZbarimg(t *testing.T) {
	zbarimg := testenv.RequireTool(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	for _, n := range []int{20, 300, 600} {
		for _, level := range []Level{LevelM, LevelH} {
			text := credentialText(n)
			file := filepath.Join(dir, "code.png")
			if err := os.WriteFile(file, mustPNG(t, text, Options{Level: level}), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", file).Output()
			if err != nil {
				t.Fatalf("%d chars, level %v: zbarimg: %v", n, level, err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != text {
				t.Fatalf("%d chars, level %v: zbarimg read %q, want %q", n, level, got, text)
			}
		}
	}
}

func TestVersion400AtM(t *testing.T) {
	// ISO/IEC 18004 Table 7, alphanumeric mode at level M: version 11 holds 366
	// characters and version 12 holds 419, so 400 characters need version 12.
	// Byte mode would need version 15 (14-M holds 362 bytes, 15-M 412).
	for _, text := range []string{letterText(400), credentialText(400)} {
		v, err := VersionFor(text, LevelM)
		if err != nil {
			t.Fatal(err)
		}
		if v != 12 {
			t.Fatalf("VersionFor(400 chars, M) = %d, want 12", v)
		}
		c, err := Encode(text, LevelM)
		if err != nil {
			t.Fatal(err)
		}
		if c.Version() != 12 || c.Size() != 65 || c.Level() != LevelM {
			t.Fatalf("Encode(400 chars, M): version %d, size %d, level %v; want 12, 65, M",
				c.Version(), c.Size(), c.Level())
		}
	}
}

// TestTable7 checks the computed alphanumeric capacities against figures
// published in ISO/IEC 18004 Table 7.
func TestTable7(t *testing.T) {
	want := map[int][4]int{ // version: L, M, Q, H
		1: {25, 20, 16, 10}, 2: {47, 38, 29, 20}, 3: {77, 61, 47, 35},
		4: {114, 90, 67, 50}, 5: {154, 122, 87, 64}, 6: {195, 154, 108, 84},
		7: {224, 178, 125, 93}, 8: {279, 221, 157, 122}, 9: {335, 262, 189, 143},
		10: {395, 311, 221, 174}, 11: {468, 366, 259, 200}, 12: {535, 419, 296, 227},
		40: {4296, 3391, 2420, 1852},
	}
	for v, caps := range want {
		for i, level := range allLevels {
			if got := alphanumericCapacity(v, level); got != caps[i] {
				t.Errorf("alphanumeric capacity %d-%v = %d, want %d", v, level, got, caps[i])
			}
		}
	}
}

// TestDataCodewordsMatchZXing cross-checks the data codeword table against the
// one ZXing's decoder (gozxing) was built from, and the Level values against the
// format-information bits.
func TestDataCodewordsMatchZXing(t *testing.T) {
	for i, level := range allLevels {
		if int(level) != int([]decoder.ErrorCorrectionLevel{
			decoder.ErrorCorrectionLevel_L, decoder.ErrorCorrectionLevel_M,
			decoder.ErrorCorrectionLevel_Q, decoder.ErrorCorrectionLevel_H}[i]) {
			t.Errorf("Level %v = %d, not its format-information bits", level, int(level))
		}
		for v := 1; v <= 40; v++ {
			zv, err := decoder.Version_GetVersionForNumber(v)
			if err != nil {
				t.Fatal(err)
			}
			zx := zv.GetTotalCodewords() - zv.GetECBlocksForLevel(decoder.ErrorCorrectionLevel(level)).GetTotalECCodewords()
			if got := dataCodewords[v][level.index()]; got != zx {
				t.Errorf("data codewords %d-%v = %d, ZXing says %d", v, level, got, zx)
			}
		}
	}
}

// TestEncoderUsesAlphanumericMode proves, at every capacity boundary of every
// version and level, that the encoder picks exactly the version alphanumeric
// mode needs: a full version-v text gives v, one character more gives v+1.
func TestEncoderUsesAlphanumericMode(t *testing.T) {
	for _, level := range allLevels {
		for v := 1; v <= 40; v++ {
			n := alphanumericCapacity(v, level)
			for _, tc := range []struct{ n, want int }{{n, v}, {n + 1, v + 1}} {
				text := letterText(tc.n)
				want, err := VersionFor(text, level)
				if tc.want > 40 {
					if !errors.Is(err, ErrTooLong) {
						t.Fatalf("VersionFor(%d chars, %v) error = %v, want ErrTooLong", tc.n, level, err)
					}
					if _, err := Encode(text, level); !errors.Is(err, ErrTooLong) {
						t.Fatalf("Encode(%d chars, %v) error = %v, want ErrTooLong", tc.n, level, err)
					}
					continue
				}
				if err != nil || want != tc.want {
					t.Fatalf("VersionFor(%d chars, %v) = %d, %v; want %d", tc.n, level, want, err, tc.want)
				}
				q, err := Encode(text, level)
				if err != nil {
					t.Fatalf("%d chars, %v: %v", tc.n, level, err)
				}
				if q.Version() != tc.want {
					t.Fatalf("%d chars, %v: encoder chose version %d, want %d", tc.n, level, q.Version(), tc.want)
				}
			}
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		level      Level
		want       error
	}{
		{"lower case", "lc1:abc", LevelM, ErrNotAlphanumeric},
		{"non-ASCII", "LC1:证照", LevelM, ErrNotAlphanumeric},
		{"newline", "LC1:AB\n", LevelM, ErrNotAlphanumeric},
		{"too long", letterText(3392), LevelM, ErrTooLong},
		{"empty", "", LevelM, nil},
		{"bad level", "LC1:AB", Level(4), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.text, tc.level)
			if err == nil {
				t.Fatal("Encode succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Encode error = %v, want %v", err, tc.want)
			}
			if _, err := VersionFor(tc.text, tc.level); err == nil {
				t.Fatal("VersionFor succeeded")
			}
		})
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, opts := range []Options{
		{Quiet: 2}, {Quiet: -1}, {Quiet: 65}, {ModulePixels: -1}, {ModulePixels: 65}, {Level: 9},
	} {
		if _, err := PNG("LC1:AB", opts); err == nil {
			t.Errorf("PNG with %+v succeeded", opts)
		}
		if _, err := SVG("LC1:AB", opts); err == nil {
			t.Errorf("SVG with %+v succeeded", opts)
		}
		if _, err := Terminal("LC1:AB", opts); err == nil {
			t.Errorf("Terminal with %+v succeeded", opts)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, level := range allLevels {
		for _, s := range []string{level.String(), strings.ToLower(level.String())} {
			got, err := ParseLevel(s)
			if err != nil || got != level {
				t.Errorf("ParseLevel(%q) = %v, %v; want %v", s, got, err, level)
			}
		}
	}
	if _, err := ParseLevel("X"); err == nil {
		t.Error(`ParseLevel("X") succeeded`)
	}
	if (Options{}).Level != LevelM {
		t.Error("the zero Level is not M")
	}
}

func TestBitmapIsCopy(t *testing.T) {
	c, err := Encode("LC1:AB", LevelM)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bitmap()
	if len(b) != 21 || len(b[0]) != 21 {
		t.Fatalf("version 1 bitmap is %d×%d, want 21×21", len(b[0]), len(b))
	}
	// The top-left finder pattern starts with a dark module: no quiet zone.
	if !b[0][0] || !b[0][6] || b[0][7] {
		t.Fatal("bitmap does not start with the finder pattern")
	}
	b[0][0] = false
	if !c.Bitmap()[0][0] {
		t.Fatal("changing the returned bitmap changed the code")
	}
}

// TestPNGPixels checks the PNG's geometry: whole pixels per module, a light
// quiet zone of opts.Quiet modules, pure black and white only.
func TestPNGPixels(t *testing.T) {
	text := credentialText(300)
	c, err := Encode(text, LevelM)
	if err != nil {
		t.Fatal(err)
	}
	bitmap := c.Bitmap()
	for _, opts := range []Options{{}, {ModulePixels: 3, Quiet: 6}} {
		img, err := png.Decode(bytes.NewReader(mustPNG(t, text, opts)))
		if err != nil {
			t.Fatal(err)
		}
		px, q := opts.ModulePixels, opts.Quiet
		if px == 0 {
			px, q = 8, 4
		}
		n := c.Size() + 2*q
		if img.Bounds() != image.Rect(0, 0, n*px, n*px) {
			t.Fatalf("%+v: bounds %v, want %d×%d", opts, img.Bounds(), n*px, n*px)
		}
		for y := 0; y < n*px; y++ {
			for x := 0; x < n*px; x++ {
				gray := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
				want := uint8(255)
				if darkAt(bitmap, x/px, y/px, q) {
					want = 0
				}
				if gray != want {
					t.Fatalf("%+v: pixel (%d,%d) = %d, want %d", opts, x, y, gray, want)
				}
			}
		}
	}
}
