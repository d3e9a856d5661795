package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// MaxPixels is the largest image, width × height, that Decode and DecodeBytes
// accept. DecodeBytes checks it from the image header, before decoding any pixel,
// so that a small hostile upload cannot claim gigabytes of memory.
const MaxPixels = 40_000_000

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

// DecodeBytes reads the QR code in a PNG or JPEG image and returns its text. It
// reads the image header first and refuses images of more than MaxPixels pixels
// with ErrImageTooLarge, and other formats with ErrUnsupportedFormat. See Decode
// for the other errors.
func DecodeBytes(data []byte) (string, error) {
	var f *imageFormat
	for i := range formats {
		if bytes.HasPrefix(data, []byte(formats[i].magic)) {
			f = &formats[i]
			break
		}
	}
	if f == nil {
		return "", fmt.Errorf("decode qr image: %w", ErrUnsupportedFormat)
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("decode qr image: %s header: %w", f.name, err)
	}
	if err := checkDimensions(cfg.Width, cfg.Height); err != nil {
		return "", fmt.Errorf("decode qr image: %w", err)
	}
	img, err := f.decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("decode qr image: %s: %w", f.name, err)
	}
	return Decode(img)
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
	src := gozxing.NewLuminanceSourceFromImage(img)
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
