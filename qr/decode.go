package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// Limits on images, checked from the header before any pixel is decoded, so
// that a small hostile upload (a few hundred kilobytes of PNG can claim
// gigabytes once decoded) cannot exhaust memory. No QR code needs more: a
// 12-megapixel phone photo (4000×3000) passes, and a version 40 code is 177
// modules, readable from about 3 pixels a module.
const (
	// MaxPixels is the largest image, width × height, that DecodeBytes and
	// Decode accept.
	MaxPixels = 16_000_000
	// MaxDecodedBytes bounds the memory of an image's decoded pixels
	// (width × height × bytes per pixel of its colour model), so that a
	// 16-bit colour PNG (8 bytes a pixel) may have at most 8 megapixels.
	MaxDecodedBytes = 64 << 20
	// MaxSide is the longest side the QR search runs on: a larger image is
	// first reduced (by averaging whole blocks of pixels) to fit it.
	MaxSide = 2048
	// searchBytes bounds the memory the search itself takes on an image
	// reduced to MaxSide: the gray copy and the reader's working copies.
	searchBytes = 4 * MaxSide * MaxSide
)

// ErrNoCode reports an image in which no QR code was found.
var ErrNoCode = errors.New("no qr code found")

// ErrUnreadable reports a QR code that was found but could not be read: damaged,
// blurred, or cut off.
var ErrUnreadable = errors.New("qr code unreadable")

// ErrUnsupportedFormat reports image data that is neither PNG nor JPEG.
var ErrUnsupportedFormat = errors.New("unsupported image format: want png or jpeg")

// ErrImageTooLarge reports an image of more than MaxPixels pixels.
var ErrImageTooLarge = errors.New("image too large")

// imageFormat is one image format DecodeBytes reads.
type imageFormat struct {
	name   string
	magic  string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// formats are the formats DecodeBytes reads, recognised by their magic bytes. They
// are listed here rather than taken from image.Decode's registry, so that whatever
// other formats the program registers never reach this decoder.
var formats = [...]imageFormat{
	{"png", "\x89PNG\r\n\x1a\n", png.DecodeConfig, png.Decode},
	{"jpeg", "\xff\xd8", jpeg.DecodeConfig, jpeg.Decode},
}

// Info is what an image's header says about it.
type Info struct {
	Format        string // "png" or "jpeg"
	Width, Height int
	// Memory estimates the bytes decoding and searching the image takes at
	// most: its decoded pixels and the search on the reduced image.
	Memory int64
}

// Inspect reads the header of a PNG or JPEG image, without decoding a
// pixel, and refuses images that are too large to decode (ErrImageTooLarge:
// more than MaxPixels pixels or MaxDecodedBytes of decoded pixels), empty
// (ErrNoCode) or of another format (ErrUnsupportedFormat).
func Inspect(data []byte) (Info, error) {
	f, cfg, err := header(data)
	if err != nil {
		return Info{}, fmt.Errorf("decode qr image: %w", err)
	}
	decoded, err := checkConfig(cfg)
	if err != nil {
		return Info{}, fmt.Errorf("decode qr image: %w", err)
	}
	return Info{Format: f.name, Width: cfg.Width, Height: cfg.Height, Memory: decoded + searchBytes}, nil
}

func header(data []byte) (*imageFormat, image.Config, error) {
	var f *imageFormat
	for i := range formats {
		if bytes.HasPrefix(data, []byte(formats[i].magic)) {
			f = &formats[i]
			break
		}
	}
	if f == nil {
		return nil, image.Config{}, ErrUnsupportedFormat
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, image.Config{}, fmt.Errorf("%s header: %w", f.name, err)
	}
	return f, cfg, nil
}

// DecodeBytes reads the QR code in a PNG or JPEG image and returns its text. It
// checks the image header first (see Inspect), and reduces an image larger than
// MaxSide before searching it. See Decode for the other errors.
func DecodeBytes(data []byte) (string, error) {
	f, cfg, err := header(data)
	if err != nil {
		return "", fmt.Errorf("decode qr image: %w", err)
	}
	if _, err := checkConfig(cfg); err != nil {
		return "", fmt.Errorf("decode qr image: %w", err)
	}
	img, err := f.decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("decode qr image: %s: %w", f.name, err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return "", fmt.Errorf("decode qr image: %s: size %v differs from its header", f.name, b.Size())
	}
	return Decode(img)
}

// checkConfig applies the limits to an image header and returns the bytes
// its decoded pixels take.
func checkConfig(cfg image.Config) (int64, error) {
	if err := checkDimensions(cfg.Width, cfg.Height); err != nil {
		return 0, err
	}
	n := int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel(cfg.ColorModel)
	if n > MaxDecodedBytes {
		return 0, fmt.Errorf("%w: %d×%d pixels take %d MiB decoded, at most %d MiB", ErrImageTooLarge,
			cfg.Width, cfg.Height, n>>20, MaxDecodedBytes>>20)
	}
	return n, nil
}

// checkDimensions refuses empty images and images of more than MaxPixels pixels.
func checkDimensions(w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: empty image", ErrNoCode)
	}
	if int64(w)*int64(h) > MaxPixels {
		return fmt.Errorf("%w: %d×%d pixels, at most %d", ErrImageTooLarge, w, h, MaxPixels)
	}
	return nil
}

// bytesPerPixel is what the standard PNG and JPEG decoders allocate a pixel
// for each colour model (JPEG's YCbCr at most 3, for 4:4:4).
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // 16-bit colour, and anything unknown
}

// Decode reads the QR code in img and returns its text. It looks harder than the
// default (the TRY_HARDER hint) and, when no code is found, looks again for a
// light-on-dark code such as a dark-mode screenshot. It fails with ErrNoCode when
// no code is found, ErrUnreadable when one is found but cannot be read, and
// ErrImageTooLarge for images of more than MaxPixels pixels.
func Decode(img image.Image) (string, error) {
	if img == nil {
		return "", fmt.Errorf("decode qr: %w: nil image", ErrNoCode)
	}
	if err := checkDimensions(img.Bounds().Dx(), img.Bounds().Dy()); err != nil {
		return "", fmt.Errorf("decode qr: %w", err)
	}
	src := gozxing.NewLuminanceSourceFromImage(reduce(img))
	text, err := read(src)
	if errors.Is(err, ErrNoCode) {
		text, err = read(src.Invert())
	}
	if err != nil {
		return "", fmt.Errorf("decode qr: %w", err)
	}
	return text, nil
}

// read runs the QR reader over src and sorts its failures into ErrNoCode and
// ErrUnreadable.
func read(src gozxing.LuminanceSource) (string, error) {
	bitmap, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return "", err
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	result, err := gozxingqr.NewQRCodeReader().Decode(bitmap, hints)
	if err == nil {
		return result.GetText(), nil
	}
	// The finder-pattern search misses a few percent of perfectly sharp,
	// axis-aligned codes such as our own PNGs and screenshots of them;
	// reading such an image as a pure barcode succeeds.
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	if result, perr := gozxingqr.NewQRCodeReader().Decode(bitmap, pure); perr == nil {
		return result.GetText(), nil
	}
	var notFound gozxing.NotFoundException
	var format gozxing.FormatException
	var checksum gozxing.ChecksumException
	switch {
	case errors.As(err, &notFound):
		return "", ErrNoCode
	case errors.As(err, &format), errors.As(err, &checksum):
		return "", fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return "", err
}
