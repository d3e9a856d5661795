package qr

import (
	"math/bits"
	"sync"
)

// This file is the package's own QR encoder (ISO/IEC 18004:2015, Model 2): one
// segment in alphanumeric or byte mode, Reed-Solomon over GF(256) by log tables,
// the function patterns and the placement order of each version computed once and
// kept, and all eight masks scored by the standard's four penalty rules (section
// 7.8.3) on a flat byte matrix. The tests hold its symbols to a reference
// implementation of the standard (github.com/piglig/go-qr, a port of Project
// Nayuki's QR Code generator) bit for bit, and zbarimg reads them.

// mode is a segment's mode indicator.
type mode uint8

const (
	modeAlphanumeric mode = 0x2
	modeByte         mode = 0x4
)

// countBits is the length of the character count indicator of mode m in a
// symbol of version v (Table 3).
func (m mode) countBits(v int) int {
	if m == modeByte {
		if v < 10 {
			return 8
		}
		return 16
	}
	switch {
	case v < 10:
		return 9
	case v < 27:
		return 11
	}
	return 13
}

// dataBits is the number of bits a segment of n characters of mode m takes in
// version v: mode indicator, count and data.
func (m mode) dataBits(n, v int) int {
	bits := 4 + m.countBits(v)
	if m == modeByte {
		return bits + 8*n
	}
	return bits + n/2*11 + n%2*6
}

// eccPerBlock and eccBlocks are the error-correction codewords per block and the
// number of blocks of each version at each level (L, M, Q, H), Table 9.
var eccPerBlock = [4][41]uint8{
	{0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
	{0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
}

var eccBlocks = [4][41]uint8{
	{0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
	{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
	{0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
	{0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
}

// rawDataModules is the number of modules of version v that carry codewords
// (data, error correction and remainder bits): everything but the function
// patterns and the format and version information.
func rawDataModules(v int) int {
	n := (16*v+128)*v + 64
	if v >= 2 {
		align := v/7 + 2
		n -= (25*align-10)*align - 55
		if v >= 7 {
			n -= 36
		}
	}
	return n
}

// alignmentPositions returns the centre coordinates of the alignment patterns of
// version v (Annex E), ascending.
func alignmentPositions(v int) []int {
	if v == 1 {
		return nil
	}
	num := v/7 + 2
	step := 26
	if v != 32 {
		step = (v*4 + num*2 + 1) / (num*2 - 2) * 2
	}
	pos := make([]int, num)
	pos[0] = 6
	for i, p := num-1, v*4+10; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

// GF(256) with the QR polynomial x⁸+x⁴+x³+x²+1, by log and antilog tables.
var gfExp, gfLog = func() (exp [512]byte, log [256]byte) {
	x := 1
	for i := range 255 {
		exp[i] = byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	for i := 255; i < 512; i++ {
		exp[i] = exp[i-255]
	}
	return exp, log
}()

// rsGenerators holds, per degree, the logs of the generator polynomial's
// coefficients (highest degree first, its leading 1 left out).
var rsGenerators [31]struct {
	once sync.Once
	logs []byte
}

// rsGenerator returns the logs of the coefficients of the generator polynomial
// of degree d: (x−α⁰)(x−α¹)…(x−α^(d−1)).
func rsGenerator(d int) []byte {
	g := &rsGenerators[d]
	g.once.Do(func() {
		// poly[0] is the coefficient of x^(d-1), the leading x^d's 1 implied.
		poly := make([]byte, d)
		poly[d-1] = 1
		root := byte(1)
		for range d {
			for j := range d {
				poly[j] = gfMul(poly[j], root)
				if j+1 < d {
					poly[j] ^= poly[j+1]
				}
			}
			root = gfMul(root, 2)
		}
		g.logs = make([]byte, d)
		for i, c := range poly {
			g.logs[i] = gfLog[c] // every coefficient of a generator is non-zero
		}
	})
	return g.logs
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// rsRemainder writes into ecc (len(ecc) codewords) the Reed-Solomon error
// correction of data.
func rsRemainder(data, ecc []byte) {
	gen := rsGenerator(len(ecc))
	clear(ecc)
	for _, b := range data {
		factor := b ^ ecc[0]
		copy(ecc, ecc[1:])
		ecc[len(ecc)-1] = 0
		if factor == 0 {
			continue
		}
		lf := int(gfLog[factor])
		for i, lg := range gen {
			ecc[i] ^= gfExp[int(lg)+lf]
		}
	}
}

// template is what every symbol of one version shares: the function patterns and
// version information drawn, which modules they take, and the order in which the
// codeword bits fill the others.
type template struct {
	size  int
	order []uint16 // flat indexes of the data modules in placement order
	// The function patterns (format information left light) and each mask
	// pattern over the data modules only, as bit lines by rows and by
	// columns: base ^ data ^ mask is the masked symbol but for its format
	// information.
	baseRows, baseCols []line
	maskRows, maskCols [8][]line
}

var templates [41]struct {
	once sync.Once
	t    *template
}

// templateFor returns the template of version v, made on first use.
func templateFor(v int) *template {
	e := &templates[v]
	e.once.Do(func() { e.t = newTemplate(v) })
	return e.t
}

func newTemplate(v int) *template {
	n := 17 + 4*v
	t := &template{size: n}
	base := make([]byte, n*n) // row-major; 1 is dark
	fn := make([]bool, n*n)
	set := func(x, y int, dark bool) {
		i := y*n + x
		fn[i] = true
		if dark {
			base[i] = 1
		} else {
			base[i] = 0
		}
	}
	// Timing patterns.
	for i := range n {
		set(6, i, i%2 == 0)
		set(i, 6, i%2 == 0)
	}
	// Finder patterns with their separators.
	for _, c := range [][2]int{{3, 3}, {n - 4, 3}, {3, n - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := c[0]+dx, c[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				d := max(abs(dx), abs(dy))
				set(x, y, d != 2 && d != 4)
			}
		}
	}
	// Alignment patterns, except where they would overlap the finders.
	pos := alignmentPositions(v)
	for i, py := range pos {
		for j, px := range pos {
			last := len(pos) - 1
			if i == 0 && j == 0 || i == 0 && j == last || i == last && j == 0 {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					set(px+dx, py+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	// Format information areas (drawn per symbol) and the dark module.
	for i := range 9 {
		fn[8*n+i] = true // row 8, columns 0 to 8
		fn[i*n+8] = true // column 8, rows 0 to 8
	}
	for i := range 8 {
		fn[8*n+n-1-i] = true // row 8, the last 8 columns
		fn[(n-1-i)*n+8] = true
	}
	set(8, n-8, true)
	// Version information (Annex D).
	if v >= 7 {
		rem := v
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1f25
		}
		bits := v<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 != 0
			a, b := n-11+i%3, i/3
			set(a, b, dark)
			set(b, a, dark)
		}
	}
	// Placement order: two-module columns from the right, upwards and downwards
	// in turn, skipping the vertical timing pattern.
	t.order = make([]uint16, 0, rawDataModules(v))
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for vert := range n {
			y := vert
			if upward {
				y = n - 1 - vert
			}
			for j := range 2 {
				if i := y*n + right - j; !fn[i] {
					t.order = append(t.order, uint16(i))
				}
			}
		}
	}
	// The mask patterns (Table 10) over the data modules.
	for m := range 8 {
		t.maskRows[m], t.maskCols[m] = make([]line, n), make([]line, n)
		for _, i := range t.order {
			if x, y := int(i)%n, int(i)/n; maskDark(m, x, y) {
				setLines(t.maskRows[m], t.maskCols[m], x, y)
			}
		}
	}
	t.baseRows, t.baseCols = make([]line, n), make([]line, n)
	for i, d := range base {
		if d != 0 {
			setLines(t.baseRows, t.baseCols, i%n, i/n)
		}
	}
	return t
}

// maskDark reports whether mask pattern m inverts the module at column x, row y.
func maskDark(m, x, y int) bool {
	switch m {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	}
	return ((x+y)%2+x*y%3)%2 == 0
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// alphanumericValue maps a character of the alphanumeric set to its value
// (Table 5); every other byte maps to 0xff.
var alphanumericValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range []byte(base45Chars) {
		t[c] = byte(i)
	}
	return t
}()

// base45Chars is the alphanumeric set in the order of its values.
const base45Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// bitWriter appends bits, most significant first, to a byte slice.
type bitWriter struct {
	buf  []byte
	nbit int
}

func (w *bitWriter) write(v uint32, n int) {
	for n > 0 {
		if w.nbit%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		free := 8 - w.nbit%8
		take := min(free, n)
		bits := byte(v>>(n-take)) & (1<<take - 1)
		w.buf[len(w.buf)-1] |= bits << (free - take)
		w.nbit += take
		n -= take
	}
}

// encodeSegment makes the symbol of one segment of text in mode m at level, in
// the smallest version that holds it; mask is the mask pattern to use, or -1 to
// choose it by the penalty rules. text must be valid for the mode.
func encodeSegment(text string, m mode, level Level, mask int) (*Code, error) {
	li := level.index()
	v := 1
	for ; v <= 40; v++ {
		if m.dataBits(len(text), v) <= 8*dataCodewords[v][li] {
			break
		}
	}
	if v > 40 {
		return nil, ErrTooLong
	}
	capBytes := dataCodewords[v][li]
	// Data codewords, then room for the error correction.
	total := rawDataModules(v) / 8
	w := bitWriter{buf: make([]byte, 0, total)}
	w.write(uint32(m), 4)
	w.write(uint32(len(text)), m.countBits(v))
	if m == modeByte {
		for i := 0; i < len(text); i++ {
			w.write(uint32(text[i]), 8)
		}
	} else {
		i := 0
		for ; i+1 < len(text); i += 2 {
			w.write(uint32(alphanumericValue[text[i]])*45+uint32(alphanumericValue[text[i+1]]), 11)
		}
		if i < len(text) {
			w.write(uint32(alphanumericValue[text[i]]), 6)
		}
	}
	w.write(0, min(4, 8*capBytes-w.nbit)) // terminator
	w.nbit = len(w.buf) * 8               // zero bits to the byte boundary
	for pad := byte(0xec); len(w.buf) < capBytes; pad ^= 0xec ^ 0x11 {
		w.buf = append(w.buf, pad)
	}
	data := w.buf

	// Split into blocks, compute each block's error correction, interleave.
	blocks := int(eccBlocks[li][v])
	eccLen := int(eccPerBlock[li][v])
	short := blocks - total%blocks
	shortData := total/blocks - eccLen
	ecc := make([]byte, blocks*eccLen)
	codewords := make([]byte, 0, total)
	for b, k := 0, 0; b < blocks; b++ {
		dl := shortData
		if b >= short {
			dl++
		}
		rsRemainder(data[k:k+dl], ecc[b*eccLen:(b+1)*eccLen])
		k += dl
	}
	for i := 0; i <= shortData; i++ {
		for b, k := 0, 0; b < blocks; b++ {
			dl := shortData
			if b >= short {
				dl++
			}
			if i < dl {
				codewords = append(codewords, data[k+i])
			}
			k += dl
		}
	}
	for i := range eccLen {
		for b := range blocks {
			codewords = append(codewords, ecc[b*eccLen+i])
		}
	}

	t := templateFor(v)
	// The codeword bits in placement order; remainder bits are light.
	bits := make([]byte, len(t.order))
	for k := 0; k < len(codewords)*8; k++ {
		bits[k] = codewords[k>>3] >> (7 - k&7) & 1
	}
	n := t.size
	// The unmasked symbol as bit lines, once; each mask is then one XOR a
	// word and the format information.
	scratch := make([]line, 4*n)
	dataRows, dataCols, rows, cols := scratch[:n], scratch[n:2*n], scratch[2*n:3*n], scratch[3*n:]
	copy(dataRows, t.baseRows)
	copy(dataCols, t.baseCols)
	for k, i := range t.order {
		if bits[k] != 0 {
			setLines(dataRows, dataCols, int(i)%n, int(i)/n)
		}
	}
	masked := func(mk int) {
		mr, mc := t.maskRows[mk], t.maskCols[mk]
		for y := range n {
			for w := range rows[y] {
				rows[y][w] = dataRows[y][w] ^ mr[y][w]
				cols[y][w] = dataCols[y][w] ^ mc[y][w]
			}
		}
		// The format areas are light in base and hold no data.
		eachFormatModule(n, level, mk, func(x, y int) { setLines(rows, cols, x, y) })
	}
	if mask < 0 {
		best, bestScore := 0, -1
		for mk := range 8 {
			masked(mk)
			if s := penalty(rows, cols, n); bestScore < 0 || s < bestScore {
				best, bestScore = mk, s
			}
		}
		mask = best
	}
	masked(mask)
	c := &Code{level: level, version: v, modules: make([][]bool, n)}
	cells := make([]bool, n*n)
	for y := range n {
		r := cells[y*n : (y+1)*n : (y+1)*n]
		for x := range r {
			r[x] = rows[y][x>>6]>>uint(x&63)&1 != 0
		}
		c.modules[y] = r
	}
	return c, nil
}

// setLines sets module (x, y) dark in rows and in cols.
func setLines(rows, cols []line, x, y int) {
	rows[y][x>>6] |= 1 << uint(x&63)
	cols[x][y>>6] |= 1 << uint(y&63)
}

// eachFormatModule calls dark for every dark module of both copies of the
// format information of level and mask (BCH-coded and masked with
// 101010000010010, section 7.9).
func eachFormatModule(n int, level Level, mask int, dark func(x, y int)) {
	data := int(level)<<3 | mask
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	at := func(x, y int, i int) {
		if bits>>i&1 != 0 {
			dark(x, y)
		}
	}
	for i := range 6 {
		at(8, i, i)
	}
	at(8, 7, 6)
	at(8, 8, 7)
	at(7, 8, 8)
	for i := 9; i < 15; i++ {
		at(14-i, 8, i)
	}
	for i := range 8 {
		at(n-1-i, 8, i)
	}
	for i := 8; i < 15; i++ {
		at(8, n-15+i, i)
	}
}

// Penalty weights N1 to N4 (section 7.8.3.1).
const (
	penaltyN1 = 3
	penaltyN2 = 3
	penaltyN3 = 40
	penaltyN4 = 10
)

// line is one row or column of a symbol as bits, module i at bit i%64 of
// word i/64 (versions up to 40 are at most 177 modules wide).
type line [3]uint64

// penalty scores a masked symbol by the four rules of section 7.8.3.1: runs of
// five or more same-coloured modules in a row or column, 2×2 blocks of one
// colour, the finder-like pattern 1:1:3:1:1 with four light modules on one side
// (the area outside the symbol counts as light), and the proportion of dark
// modules. rows and cols are the symbol's n rows and n columns as bit lines.
func penalty(rows, cols []line, n int) int {
	score, dark := 0, 0
	for i := range n {
		score += linePenalty(&rows[i], n) + linePenalty(&cols[i], n)
		dark += bits.OnesCount64(rows[i][0]) + bits.OnesCount64(rows[i][1]) + bits.OnesCount64(rows[i][2])
	}
	// Rule 2: a 2×2 block at (x, y) is one colour when row y equals row y+1
	// at x and at x+1 and row y has x equal to x+1.
	var valid line // bits 0 to n-2
	for x := 0; x < n-1; x++ {
		valid[x>>6] |= 1 << uint(x&63)
	}
	for y := 0; y < n-1; y++ {
		a, b := &rows[y], &rows[y+1]
		for w := range 3 {
			var an, bn uint64 // the next word's low bits, shifted in
			if w < 2 {
				an, bn = a[w+1]<<63, b[w+1]<<63
			}
			eq := ^(a[w] ^ b[w])
			eqNext := ^((a[w]>>1 | an) ^ (b[w]>>1 | bn))
			horiz := ^(a[w] ^ (a[w]>>1 | an))
			score += penaltyN2 * bits.OnesCount64(eq&eqNext&horiz&valid[w])
		}
	}
	total := n * n
	k := (abs(dark*20-total*10)+total-1)/total - 1
	return score + k*penaltyN4
}

// linePenalty scores rules 1 and 3 along one row or column of n modules, run
// by run. It walks the line's colour changes (the bits where a module
// differs from the one before it, the area before the symbol counted as
// light) by trailing-zero counts, and keeps the lengths of the last seven
// runs to find the finder-like pattern, counting the light area outside the
// symbol as a run on each side.
func linePenalty(l *line, n int) int {
	score := 0
	// h0 is the newest run, h6 the oldest; the first light run gets the
	// light area before the symbol, the last the light area after it.
	var h0, h1, h2, h3, h4, h5, h6 int
	prev, dark, first := 0, false, true
	var carry uint64
	for w := 0; w <= n>>6; w++ {
		x := l[w]
		t := x ^ (x<<1 | carry)
		carry = x >> 63
		if rem := n - w<<6; rem < 64 {
			// The changes inside the symbol, and its end as one more.
			t = t&(1<<uint(rem)-1) | 1<<uint(rem)
		}
		for ; t != 0; t &= t - 1 {
			b := w<<6 + bits.TrailingZeros64(t)
			run := b - prev
			if run >= 5 {
				score += penaltyN1 + run - 5
			}
			if !dark {
				if first {
					run, first = run+n, false
				}
				if b == n {
					run += n
				}
			}
			h0, h1, h2, h3, h4, h5, h6 = run, h0, h1, h2, h3, h4, h5
			if !dark {
				// A light run ended: the pattern may end here.
				score += finderLike(h0, h1, h2, h3, h4, h5, h6) * penaltyN3
			}
			prev, dark = b, !dark
		}
	}
	if !dark {
		// The last run was dark: the light area after the symbol ends the
		// line.
		h0, h1, h2, h3, h4, h5, h6 = n, h0, h1, h2, h3, h4, h5
		score += finderLike(h0, h1, h2, h3, h4, h5, h6) * penaltyN3
	}
	return score
}

// finderLike counts the finder-like patterns (dark 1, light 1, dark 3, light 1,
// dark 1, with at least four light on one side) that end at the newest run of
// the run history h0 (newest, light) to h6: 0, 1 or 2.
func finderLike(h0, h1, h2, h3, h4, h5, h6 int) int {
	u := h1
	if u == 0 || h2 != u || h3 != 3*u || h4 != u || h5 != u {
		return 0
	}
	c := 0
	if h0 >= 4*u && h6 >= u {
		c++
	}
	if h6 >= 4*u && h0 >= u {
		c++
	}
	return c
}
