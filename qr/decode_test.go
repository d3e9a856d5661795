package qr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pngHeader returns a PNG signature and a valid IHDR chunk for an 8-bit grayscale
// image of w×h pixels, followed by junk instead of pixel data.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8 // bit depth; colour type 0 (grayscale), compression, filter, interlace 0
	chunk := append([]byte("IHDR"), ihdr...)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, chunk...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
	return append(b, bytes.Repeat([]byte{0}, 64)...)
}

// TestTooLargeRefusedBeforePixels proves that DecodeBytes refuses an image over
// MaxPixels from its header alone: it allocates nothing near the image's size.
func TestTooLargeRefusedBeforePixels(t *testing.T) {
	data := pngHeader(8000, 8000) // 64 megapixels: 64 MB as gray pixels
	if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
		t.Fatalf("test header is not a valid PNG header: %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeBytes(data)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("DecodeBytes(8000×8000 PNG) error = %v, want ErrImageTooLarge", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("DecodeBytes allocated %d bytes before refusing", alloc)
	}
	// Just under the limit the header passes, and the junk pixel data fails.
	if _, err := DecodeBytes(pngHeader(100, 100)); err == nil || errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("DecodeBytes(100×100 PNG with junk data) error = %v, want a PNG error", err)
	}
	if _, err := Decode(image.NewUniform(color.White)); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("Decode(unbounded image) error = %v, want ErrImageTooLarge", err)
	}
}

func TestUnsupportedFormat(t *testing.T) {
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, image.NewPaletted(image.Rect(0, 0, 10, 10), color.Palette{color.White, color.Black}), nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"gif":   gifData.Bytes(),
		"text":  []byte("LC1:NOT AN IMAGE"),
		"empty": nil,
	} {
		_, err := DecodeBytes(data)
		if !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("%s: error = %v, want ErrUnsupportedFormat", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "png") || !strings.Contains(msg, "jpeg") {
			t.Errorf("%s: error %q does not name the supported formats", name, msg)
		}
	}
}

func TestNoCode(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 300, 200))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	var pngData, jpegData bytes.Buffer
	if err := png.Encode(&pngData, blank); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegData, blank, nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"png": pngData.Bytes(), "jpeg": jpegData.Bytes()} {
		if _, err := DecodeBytes(data); !errors.Is(err, ErrNoCode) {
			t.Errorf("blank %s: error = %v, want ErrNoCode", name, err)
		}
	}
	if _, err := Decode(image.NewGray(image.Rect(0, 0, 0, 0))); !errors.Is(err, ErrNoCode) {
		t.Errorf("empty image: error = %v, want ErrNoCode", err)
	}
}

// TestDecodeInverted reads a light-on-dark code, as in a dark-mode screenshot.
func TestDecodeInverted(t *testing.T) {
	text := credentialText(100)
	img, err := png.Decode(bytes.NewReader(mustPNG(t, text, Options{})))
	if err != nil {
		t.Fatal(err)
	}
	p := img.(*image.Paletted)
	p.Palette = color.Palette{color.Black, color.White}
	got, err := Decode(p)
	if err != nil || got != text {
		t.Fatalf("Decode(inverted) = %q, %v; want %q", got, err, text)
	}
}

// TestDecodeDamaged reads a code with a stripe wiped out: level H recovers from
// it; with most of the symbol wiped the reader reports failure, not a wrong text.
func TestDecodeDamaged(t *testing.T) {
	text := credentialText(100)
	for _, tc := range []struct {
		level       Level
		rows        int // module rows wiped, from the middle
		wantSuccess bool
	}{
		{LevelH, 3, true},
		{LevelL, 12, false},
	} {
		img, err := png.Decode(bytes.NewReader(mustPNG(t, text, Options{Level: tc.level})))
		if err != nil {
			t.Fatal(err)
		}
		p := img.(*image.Paletted)
		h := p.Bounds().Dy()
		stripe := image.Rect(0, h/2-tc.rows*8/2, p.Bounds().Dx()*2/3, h/2+tc.rows*8/2)
		draw.Draw(p, stripe, image.White, image.Point{}, draw.Src)
		got, err := Decode(p)
		if tc.wantSuccess && (err != nil || got != text) {
			t.Fatalf("level %v, %d rows wiped: Decode = %q, %v; want %q", tc.level, tc.rows, got, err, text)
		}
		if !tc.wantSuccess && (err == nil || !(errors.Is(err, ErrUnreadable) || errors.Is(err, ErrNoCode))) {
			t.Fatalf("level %v, %d rows wiped: Decode = %q, %v; want ErrUnreadable or ErrNoCode", tc.level, tc.rows, got, err)
		}
	}
}

// FuzzDecodeBytes feeds arbitrary bytes to DecodeBytes: it must return, not panic.
func FuzzDecodeBytes(f *testing.F) {
	text := credentialText(40)
	pngData, err := PNG(text, Options{ModulePixels: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pngData)
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		f.Fatal(err)
	}
	var jpegData bytes.Buffer
	if err := jpeg.Encode(&jpegData, img, &jpeg.Options{Quality: 80}); err != nil {
		f.Fatal(err)
	}
	f.Add(jpegData.Bytes())
	f.Add(pngHeader(10, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeBytes(data)
		if err == nil && bytes.Equal(data, pngData) && got != text {
			t.Fatalf("seed PNG decoded to %q, want %q", got, text)
		}
	})
}

// The QR benchmarks report, besides ns/op, "cpu-ms/op": the process's CPU
// time per operation (the work plus the garbage collector's), which other
// processes on a busy machine skew far less than the wall clock.

func BenchmarkPNG(b *testing.B) {
	text := credentialText(400)
	b.ReportAllocs()
	start := processCPUTime()
	for b.Loop() {
		if _, err := PNG(text, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// reportCPU reports the CPU time used since start per operation.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPUTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkPNGRender is PNG without the encoding: drawing a code already
// encoded (as a cache of codes by credential holds it) into PNG bytes.
func BenchmarkPNGRender(b *testing.B) {
	c, err := Encode(credentialText(400), LevelM)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := processCPUTime()
	for b.Loop() {
		if _, err := c.PNG(Options{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkEncode is the QR encoding alone (modes, Reed-Solomon, the eight
// masks and their penalties), which PNG and SVG both start with.
func BenchmarkEncode(b *testing.B) {
	text := credentialText(400)
	b.ReportAllocs()
	start := processCPUTime()
	for b.Loop() {
		if _, err := Encode(text, LevelM); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

func BenchmarkDecodeBytes(b *testing.B) {
	text := credentialText(400)
	data, err := PNG(text, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := DecodeBytes(data); err != nil || got != text {
			b.Fatalf("DecodeBytes = %q, %v", got, err)
		}
	}
}
