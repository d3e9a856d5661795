package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
)

// zlibWriters recycles the compressors PNG writes with: a DEFLATE
// compressor holds about a megabyte of tables, which would otherwise be
// allocated for every image.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return w
}}

// png writes the code as a 1-bit paletted PNG (bit depth 1, colour type 3,
// palette white then black: a 0 bit is white, a 1 bit black), opts already
// checked; it decodes to the same two-colour paletted image image/png would
// have written. Each module row
// becomes one packed scanline, written opts.ModulePixels times; the image
// data is the scanlines, each after a filter byte of 0 (none), compressed
// with zlib.
func (c *Code) png(opts Options) ([]byte, error) {
	px, q := opts.ModulePixels, opts.Quiet
	n := c.Size() + 2*q
	width := n * px
	stride := 1 + (width+7)/8

	var out bytes.Buffer
	out.Grow(1024 + n*stride)
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(width))
	ihdr[8], ihdr[9] = 1, 3 // bit depth 1, paletted; compression, filter, interlace 0
	writeChunk(&out, "IHDR", ihdr[:])
	writeChunk(&out, "PLTE", []byte{0xff, 0xff, 0xff, 0, 0, 0})

	var idat bytes.Buffer
	idat.Grow(n * stride / 4)
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&idat)
	line := make([]byte, stride)
	for y := range n {
		// Start all white, then set the bits of dark modules.
		clear(line)
		for x := range n {
			if !c.dark(x, y, q) {
				continue
			}
			for p := x * px; p < (x+1)*px; p++ {
				line[1+p/8] |= 0x80 >> (p % 8)
			}
		}
		for range px {
			if _, err := zw.Write(line); err != nil {
				return nil, fmt.Errorf("encode qr png: %w", err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode qr png: %w", err)
	}
	writeChunk(&out, "IDAT", idat.Bytes())
	writeChunk(&out, "IEND", nil)
	return out.Bytes(), nil
}

// writeChunk appends a PNG chunk: length, type, data and the CRC-32 of type
// and data.
func writeChunk(out *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	out.Write(n[:])
	out.WriteString(typ)
	out.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	out.Write(n[:])
}
