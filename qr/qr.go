// Package qr turns credential text into QR codes and reads QR codes back from images.
//
// The text a licence travels as is ASCII in the QR alphanumeric set (an upper-case
// prefix such as "LC1:" followed by Base45), so that keyboard-wedge scanners type it
// faithfully and the symbol stays small. Encode accepts only such text and encodes
// it in alphanumeric mode, never byte mode; VersionFor says in advance which
// version a text needs, per the capacity table of ISO/IEC 18004.
//
// To show a code, use PNG for images served to browsers and printers, SVG for pages
// that scale it (the counter and wallet pages), and Terminal for the command line.
// Each draws a quiet zone of at least four light modules, as ISO/IEC 18004 requires. To read a code
// from an uploaded photo or screenshot, use DecodeBytes (PNG or JPEG, size-limited
// before any pixel is decoded), or Decode for an image already in memory.
package qr

import (
	"fmt"
)

// Options control how a code is drawn. The zero value is the default: level M,
// 8 pixels per module, a quiet zone of 4 modules and the title "QR code".
type Options struct {
	// Level is the error-correction level; the zero value is LevelM.
	Level Level
	// ModulePixels is the width of one module in pixels (PNG, and the SVG's
	// nominal size), from 1 to 64; zero means 8.
	ModulePixels int
	// Quiet is the width of the light border in modules, from 4 (the minimum of
	// ISO/IEC 18004) to 64; zero means 4.
	Quiet int
	// Title is the SVG's accessible name (its <title>); empty means "QR code".
	Title string
}

const (
	defaultModulePixels = 8
	defaultQuiet        = 4
	defaultTitle        = "QR code"
	maxModulePixels     = 64
	maxQuiet            = 64
)

// withDefaults fills in zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	if o.ModulePixels == 0 {
		o.ModulePixels = defaultModulePixels
	}
	if o.Quiet == 0 {
		o.Quiet = defaultQuiet
	}
	if o.Title == "" {
		o.Title = defaultTitle
	}
	if !o.Level.valid() {
		return o, fmt.Errorf("invalid level %d", int(o.Level))
	}
	if o.ModulePixels < 1 || o.ModulePixels > maxModulePixels {
		return o, fmt.Errorf("module pixels %d out of range 1 to %d", o.ModulePixels, maxModulePixels)
	}
	if o.Quiet < defaultQuiet || o.Quiet > maxQuiet {
		return o, fmt.Errorf("quiet zone %d modules out of range %d to %d", o.Quiet, defaultQuiet, maxQuiet)
	}
	return o, nil
}

// Code is an encoded QR symbol.
type Code struct {
	level   Level
	version int
	modules [][]bool // [y][x], true is dark; no quiet zone
}

// Level returns the error-correction level the code was made with.
func (c *Code) Level() Level { return c.level }

// Version returns the QR version, 1 to 40.
func (c *Code) Version() int { return c.version }

// Size returns the number of modules on each side, 17+4×Version, without the
// quiet zone.
func (c *Code) Size() int { return len(c.modules) }

// Bitmap returns a copy of the module matrix, indexed [y][x], true for a dark
// module. It holds the symbol only, Size()×Size(), without the quiet zone; the
// renderers add that.
func (c *Code) Bitmap() [][]bool {
	out := make([][]bool, len(c.modules))
	for y, row := range c.modules {
		out[y] = append([]bool(nil), row...)
	}
	return out
}

// Encode encodes text, which must be non-empty and in the QR alphanumeric set, at
// the given error-correction level, as one alphanumeric-mode segment in the
// smallest version that holds it: VersionFor(text, level). The mask is the one
// of the eight with the lowest penalty by the rules of ISO/IEC 18004 (the lowest
// numbered on a tie).
func Encode(text string, level Level) (*Code, error) {
	if _, err := versionFor(text, level); err != nil {
		return nil, fmt.Errorf("encode qr: %w", err)
	}
	c, err := encodeSegment(text, modeAlphanumeric, level, -1)
	if err != nil {
		return nil, fmt.Errorf("encode qr: %w", err)
	}
	return c, nil
}

// encode encodes text with the options' level, after checking the options.
func encode(text string, opts Options) (*Code, Options, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, opts, fmt.Errorf("qr options: %w", err)
	}
	c, err := Encode(text, opts.Level)
	return c, opts, err
}

// dark reports whether the module at (x, y) of the symbol surrounded by a quiet
// zone of q modules is dark.
func (c *Code) dark(x, y, q int) bool {
	x, y = x-q, y-q
	n := len(c.modules)
	return x >= 0 && y >= 0 && x < n && y < n && c.modules[y][x]
}
