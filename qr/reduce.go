package qr

import "image"

// reduce returns img as 8-bit gray, its longest side at most MaxSide: a
// larger image is reduced by an integer factor, each output pixel the
// average of a factor × factor block. The search then works on at most
// MaxSide² bytes whatever the upload, and the decoded image can be freed.
func reduce(img image.Image) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	f := max((max(w, h)+MaxSide-1)/MaxSide, 1)
	ow, oh := (w+f-1)/f, (h+f-1)/f
	out := image.NewGray(image.Rect(0, 0, ow, oh))
	lum := luminance(img)
	sum := make([]uint32, ow)
	cnt := make([]uint32, ow)
	for oy := range oh {
		clear(sum)
		clear(cnt)
		for y := b.Min.Y + oy*f; y < min(b.Min.Y+(oy+1)*f, b.Max.Y); y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i := (x - b.Min.X) / f
				sum[i] += uint32(lum(x, y))
				cnt[i]++
			}
		}
		row := out.Pix[oy*out.Stride : oy*out.Stride+ow]
		for i := range row {
			row[i] = uint8(sum[i] / cnt[i])
		}
	}
	return out
}

// luminance returns a function giving the gray level of img's pixel (x, y),
// reading the pixel buffers of the standard decoders' image types directly.
// Transparent pixels count as white, as on a screen.
func luminance(img image.Image) func(x, y int) uint8 {
	gray := func(r, g, b, a uint32) uint8 { // 16-bit premultiplied components
		y := (299*r + 587*g + 114*b) / 1000
		y += 0xffff - a // over white
		return uint8(min(y, 0xffff) >> 8)
	}
	switch m := img.(type) {
	case *image.Gray:
		return func(x, y int) uint8 { return m.Pix[m.PixOffset(x, y)] }
	case *image.YCbCr:
		return func(x, y int) uint8 { return m.Y[m.YOffset(x, y)] }
	case *image.RGBA:
		return func(x, y int) uint8 {
			p := m.Pix[m.PixOffset(x, y):]
			return gray(uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101, uint32(p[3])*0x101)
		}
	case *image.NRGBA:
		return func(x, y int) uint8 {
			p := m.Pix[m.PixOffset(x, y):]
			a := uint32(p[3]) * 0x101
			return gray(uint32(p[0])*a/0xff, uint32(p[1])*a/0xff, uint32(p[2])*a/0xff, a)
		}
	case *image.Gray16:
		return func(x, y int) uint8 { return m.Pix[m.PixOffset(x, y)] }
	case *image.RGBA64:
		return func(x, y int) uint8 {
			p := m.Pix[m.PixOffset(x, y):]
			return gray(be16(p[0:]), be16(p[2:]), be16(p[4:]), be16(p[6:]))
		}
	case *image.NRGBA64:
		return func(x, y int) uint8 {
			p := m.Pix[m.PixOffset(x, y):]
			a := be16(p[6:])
			return gray(be16(p[0:])*a/0xffff, be16(p[2:])*a/0xffff, be16(p[4:])*a/0xffff, a)
		}
	case *image.Paletted:
		lums := make([]uint8, len(m.Palette))
		for i, c := range m.Palette {
			lums[i] = gray(c.RGBA())
		}
		return func(x, y int) uint8 {
			if i := int(m.Pix[m.PixOffset(x, y)]); i < len(lums) {
				return lums[i]
			}
			return 0
		}
	}
	return func(x, y int) uint8 { return gray(img.At(x, y).RGBA()) }
}

func be16(p []byte) uint32 { return uint32(p[0])<<8 | uint32(p[1]) }
