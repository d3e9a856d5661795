package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// bigPNG writes a 16-bit RGBA PNG of w×h pixels, streaming its rows so
// that it never holds the decoded image: pixel(x, y) gives each pixel's
// 8-bit gray level (nil: all transparent black).
func bigPNG(tb testing.TB, w, h int, pixel func(x, y int) uint8) []byte {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		out.Write(c)
		binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16-bit, RGBA
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	row := make([]byte, 1+8*w)
	for y := range h {
		if pixel != nil {
			for x := range w {
				g := pixel(x, y)
				p := row[1+8*x:]
				p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7] = g, g, g, g, g, g, 0xff, 0xff
			}
		}
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// png16Header is the signature and header of a w×h 16-bit RGBA PNG: all
// that Inspect and DecodeBytes read before refusing an image.
func png16Header(w, h int) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6
	c := append([]byte("IHDR"), ihdr...)
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, c...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
}

// TestLimits: a 16-bit PNG that would take 288 MB decoded (6000×6000, a
// 340 KB file when blank) is refused from its header; the largest 16-bit
// PNG accepted (64 MiB decoded) passes the header check; an image larger
// than MaxSide holding a QR code is reduced before the search and read.
// (api/verifierapi's TestImageUploadMemoryBound sends the real files.)
func TestLimits(t *testing.T) {
	hostile := png16Header(6000, 6000)
	if _, err := Inspect(hostile); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("Inspect(6000×6000 16-bit) = %v, want ErrImageTooLarge", err)
	}
	if _, err := DecodeBytes(hostile); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("DecodeBytes(6000×6000 16-bit) = %v, want ErrImageTooLarge", err)
	}
	const side = 2890 // 2890² × 8 bytes ≤ 64 MiB
	if info, err := Inspect(png16Header(side, side)); err != nil || info.Width != side || info.Memory < int64(side*side*8) {
		t.Fatalf("Inspect(%d² 16-bit) = %+v, %v", side, info, err)
	}
	if _, err := Inspect(png16Header(side+10, side+10)); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("Inspect(%d² 16-bit) = %v, want ErrImageTooLarge", side+10, err)
	}
	// 8-bit gray of 6000×6000 passes the memory limit but not the pixel
	// count; 4000×3000 (a phone photo) passes both.
	if _, err := Inspect(pngHeader(6000, 6000)); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("Inspect(6000×6000 gray) = %v, want ErrImageTooLarge", err)
	}
	if info, err := Inspect(pngHeader(4000, 3000)); err != nil || info.Memory > MaxDecodedBytes+searchBytes {
		t.Fatalf("Inspect(4000×3000 gray) = %+v, %v", info, err)
	}

	text := "HC1:" + string(bytes.Repeat([]byte("0123456789ABCDEF"), 8))
	small, err := PNG(text, Options{ModulePixels: 4})
	if err != nil {
		t.Fatal(err)
	}
	src, err := png.Decode(bytes.NewReader(small))
	if err != nil {
		t.Fatal(err)
	}
	const w, h = MaxSide + 300, 900 // reduced by 2
	k := h / src.Bounds().Dy()
	offX, offY := (w-k*src.Bounds().Dx())/2, (h-k*src.Bounds().Dy())/2
	big := bigPNG(t, w, h, func(x, y int) uint8 {
		x, y = (x-offX)/k, (y-offY)/k
		if x < 0 || y < 0 || x >= src.Bounds().Dx() || y >= src.Bounds().Dy() {
			return 0xff
		}
		return color.GrayModel.Convert(src.At(x, y)).(color.Gray).Y
	})
	got, err := DecodeBytes(big)
	if err != nil || got != text {
		t.Fatalf("DecodeBytes(%d×%d 16-bit with a QR code) = %q, %v", w, h, got, err)
	}
}

// TestReduce: the reduced image fits MaxSide and averages blocks.
func TestReduce(t *testing.T) {
	img := image.NewNRGBA(image.Rect(10, 10, 10+MaxSide*2+1, 13))
	for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
		for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
			v := uint8(0)
			if (x-10)%2 == 1 {
				v = 200
			}
			img.Set(x, y, color.NRGBA{v, v, v, 0xff})
		}
	}
	g := reduce(img)
	if w := g.Bounds().Dx(); w > MaxSide || w < MaxSide/2 {
		t.Fatalf("reduced width %d, want at most %d and more than half", w, MaxSide)
	}
	if v := g.GrayAt(0, 0).Y; v < 60 || v > 70 { // (0+200+0)/3
		t.Fatalf("block average %d, want 66", v)
	}
}
