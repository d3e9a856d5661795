package qr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// PNG encodes text and draws it as a black-on-white PNG: each module is a square
// of opts.ModulePixels pixels, inside a quiet zone of opts.Quiet modules. The image
// is 1-bit grayscale, so scanners see only pure black and pure white. It is
// written straight from the module bitmap (see Code.PNG), with no per-pixel image
// in between.
func PNG(text string, opts Options) ([]byte, error) {
	c, opts, err := encode(text, opts)
	if err != nil {
		return nil, err
	}
	return c.png(opts)
}

// PNG draws the code as PNG does, with the options' module size and quiet zone
// (its Level is ignored: the code already has one).
func (c *Code) PNG(opts Options) ([]byte, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("qr options: %w", err)
	}
	return c.png(opts)
}

// SVG encodes text and draws it as an SVG document. The viewBox is in modules,
// quiet zone included (0 0 n n, with n = Size()+2×opts.Quiet), over a white
// background; the dark modules are one black <path> with one rectangle per
// horizontal run, drawn with shape-rendering="crispEdges". The nominal width and
// height are n×opts.ModulePixels pixels, which CSS may override. opts.Title becomes
// the <title>, the image's accessible name.
func SVG(text string, opts Options) ([]byte, error) {
	c, opts, err := encode(text, opts)
	if err != nil {
		return nil, err
	}
	q := opts.Quiet
	n := c.Size() + 2*q
	var b bytes.Buffer
	px := strconv.Itoa(n * opts.ModulePixels)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img">`, px, px, n, n)
	b.WriteString("<title>")
	if err := xml.EscapeText(&b, []byte(opts.Title)); err != nil {
		return nil, fmt.Errorf("encode qr svg: %w", err)
	}
	b.WriteString("</title>")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, n, n)
	b.WriteString(`<path fill="#000" d="`)
	for y, row := range c.modules {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+q, y+q, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// Terminal encodes text and draws it for a terminal with light text on a dark
// background, the usual default: light modules (and the quiet zone) are printed in
// the text colour and dark modules are left as background, so phones see dark
// modules on a light field. Each line holds two module rows using the half blocks
// "▀" (upper row light), "▄" (lower row light), "█" (both light) and " " (both
// dark); a final odd row leaves its lower half as background. Every line, the last
// included, ends in "\n". On a light-background terminal the code shows inverted
// and many scanners will not read it.
func Terminal(text string, opts Options) (string, error) {
	c, opts, err := encode(text, opts)
	if err != nil {
		return "", err
	}
	q := opts.Quiet
	n := c.Size() + 2*q
	var b strings.Builder
	b.Grow((n + 1) / 2 * (3*n + 1))
	for y := 0; y < n; y += 2 {
		for x := 0; x < n; x++ {
			upper := !c.dark(x, y, q)
			lower := y+1 < n && !c.dark(x, y+1, q)
			switch {
			case upper && lower:
				b.WriteString("█")
			case upper:
				b.WriteString("▀")
			case lower:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}
