package qr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

type svgDoc struct {
	XMLName        xml.Name
	Width          string `xml:"width,attr"`
	ViewBox        string `xml:"viewBox,attr"`
	ShapeRendering string `xml:"shape-rendering,attr"`
	Title          string `xml:"title"`
	Paths          []struct {
		D    string `xml:"d,attr"`
		Fill string `xml:"fill,attr"`
	} `xml:"path"`
}

// parseSVG checks that data is one well-formed XML element and unmarshals it.
func parseSVG(t *testing.T, data []byte) svgDoc {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, data)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("SVG has %d root elements", roots)
	}
	var doc svgDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// rasterise fills an n×n module grid from an SVG path made of the commands M, h,
// v, H, V and z, each subpath an axis-aligned rectangle. It fails on anything else,
// and on a module painted twice. It returns the grid and the number of rectangles.
func rasterise(t *testing.T, d string, n int) ([][]bool, int) {
	t.Helper()
	grid := make([][]bool, n)
	for i := range grid {
		grid[i] = make([]bool, n)
	}
	var toks []string
	for i := 0; i < len(d); {
		c := d[i]
		switch {
		case strings.IndexByte("MhvHVz", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == ' ' || c == ',':
			i++
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(d) && d[j] >= '0' && d[j] <= '9' {
				j++
			}
			toks = append(toks, d[i:j])
			i = j
		default:
			t.Fatalf("unexpected %q in path at %d", c, i)
		}
	}
	num := func(i int) int {
		if i >= len(toks) {
			t.Fatal("path ends inside a command")
		}
		v, err := strconv.Atoi(toks[i])
		if err != nil {
			t.Fatalf("path: %v", err)
		}
		return v
	}
	rects := 0
	var x, y int
	var pts [][2]int
	for i := 0; i < len(toks); {
		switch toks[i] {
		case "M":
			if len(pts) > 0 {
				t.Fatal("subpath not closed before M")
			}
			x, y = num(i+1), num(i+2)
			i += 3
		case "h":
			x += num(i + 1)
			i += 2
		case "v":
			y += num(i + 1)
			i += 2
		case "H":
			x = num(i + 1)
			i += 2
		case "V":
			y = num(i + 1)
			i += 2
		case "z":
			x0, y0, x1, y1 := n, n, -1, -1
			for _, p := range pts {
				x0, y0, x1, y1 = min(x0, p[0]), min(y0, p[1]), max(x1, p[0]), max(y1, p[1])
			}
			for _, p := range pts {
				if (p[0] != x0 && p[0] != x1) || (p[1] != y0 && p[1] != y1) {
					t.Fatalf("subpath %v is not a rectangle", pts)
				}
			}
			if len(pts) != 4 || x0 < 0 || y0 < 0 || x1 > n || y1 > n || x0 == x1 || y0 == y1 {
				t.Fatalf("subpath %v is not a rectangle inside %d×%d", pts, n, n)
			}
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					if grid[yy][xx] {
						t.Fatalf("module (%d,%d) painted twice", xx, yy)
					}
					grid[yy][xx] = true
				}
			}
			rects++
			pts = pts[:0]
			i++
			continue
		default:
			t.Fatalf("unexpected token %q", toks[i])
		}
		pts = append(pts, [2]int{x, y})
		if len(pts) > 1 && pts[len(pts)-1] == pts[0] {
			pts = pts[:len(pts)-1] // explicit return to the start
		}
	}
	if len(pts) > 0 {
		t.Fatal("path ends with an open subpath")
	}
	return grid, rects
}

func TestSVG(t *testing.T) {
	for _, tc := range []struct {
		text string
		opts Options
	}{
		{credentialText(20), Options{}},
		{credentialText(600), Options{Level: LevelQ, Quiet: 5, ModulePixels: 2, Title: `电子证照二维码 <LC1> & "co"`}},
	} {
		c, err := Encode(tc.text, tc.opts.Level)
		if err != nil {
			t.Fatal(err)
		}
		data, err := SVG(tc.text, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		doc := parseSVG(t, data)
		bitmap := c.Bitmap()
		q, px, title := tc.opts.Quiet, tc.opts.ModulePixels, tc.opts.Title
		if q == 0 {
			q = 4
		}
		if px == 0 {
			px = 8
		}
		if title == "" {
			title = "QR code"
		}
		n := c.Size() + 2*q
		if doc.XMLName.Space != "http://www.w3.org/2000/svg" || doc.XMLName.Local != "svg" {
			t.Errorf("root element %v, want svg in the SVG namespace", doc.XMLName)
		}
		if want := fmt.Sprintf("0 0 %d %d", n, n); doc.ViewBox != want {
			t.Errorf("viewBox %q, want %q", doc.ViewBox, want)
		}
		if want := strconv.Itoa(n * px); doc.Width != want {
			t.Errorf("width %q, want %q", doc.Width, want)
		}
		if doc.ShapeRendering != "crispEdges" {
			t.Errorf("shape-rendering %q, want crispEdges", doc.ShapeRendering)
		}
		if doc.Title != title {
			t.Errorf("title %q, want %q", doc.Title, title)
		}
		if len(doc.Paths) != 1 {
			t.Fatalf("%d paths, want 1", len(doc.Paths))
		}
		grid, rects := rasterise(t, doc.Paths[0].D, n)
		runs := 0
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				want := darkAt(bitmap, x, y, q)
				if grid[y][x] != want {
					t.Fatalf("module (%d,%d): SVG dark=%v, bitmap dark=%v", x, y, grid[y][x], want)
				}
				if want && (x == 0 || !darkAt(bitmap, x-1, y, q)) {
					runs++
				}
			}
		}
		if rects != runs {
			t.Errorf("path has %d rectangles for %d horizontal runs: runs not merged", rects, runs)
		}
	}
}

func TestTerminal(t *testing.T) {
	light := map[rune][2]bool{'█': {true, true}, '▀': {true, false}, '▄': {false, true}, ' ': {false, false}}
	for _, tc := range []struct {
		text string
		opts Options
	}{
		{credentialText(20), Options{}},
		{credentialText(300), Options{Quiet: 5}},
	} {
		c, err := Encode(tc.text, tc.opts.Level)
		if err != nil {
			t.Fatal(err)
		}
		bitmap := c.Bitmap()
		out, err := Terminal(tc.text, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		q := tc.opts.Quiet
		if q == 0 {
			q = 4
		}
		n := c.Size() + 2*q
		if !strings.HasSuffix(out, "\n") {
			t.Fatal("output does not end in a newline")
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if want := (n + 1) / 2; len(lines) != want {
			t.Fatalf("%d lines, want ceil(%d/2) = %d", len(lines), n, want)
		}
		for i, line := range lines {
			if utf8.RuneCountInString(line) != n {
				t.Fatalf("line %d has %d characters, want %d", i, utf8.RuneCountInString(line), n)
			}
			for x, r := range []rune(line) {
				halves, ok := light[r]
				if !ok {
					t.Fatalf("line %d: unexpected character %q", i, r)
				}
				// Light text on a dark terminal: a light half is a light module.
				if halves[0] != !darkAt(bitmap, x, 2*i, q) {
					t.Fatalf("line %d column %d: upper half light=%v, module (%d,%d) dark=%v", i, x, halves[0], x, 2*i, darkAt(bitmap, x, 2*i, q))
				}
				if 2*i+1 < n && halves[1] != !darkAt(bitmap, x, 2*i+1, q) {
					t.Fatalf("line %d column %d: lower half light=%v, module (%d,%d) dark=%v", i, x, halves[1], x, 2*i+1, darkAt(bitmap, x, 2*i+1, q))
				}
				if 2*i+1 == n && halves[1] {
					t.Fatalf("line %d column %d: lower half below the code is light", i, x)
				}
			}
		}
	}
}
