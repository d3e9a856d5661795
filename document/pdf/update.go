package pdf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// update is one incremental update (ISO 32000-1 7.5.6) being written after
// the bytes of an existing PDF: new and replaced objects, then a
// cross-reference section of the same kind as the file's last one (a
// table after a table, a stream after a stream), whose trailer points back
// with /Prev. The bytes before are never changed.
type update struct {
	next int // next free object number
	objs []object
	z    *zlib.Writer // reused: a flate writer allocates about 1 MB
}

type object struct {
	num, gen int
	body     []byte
}

// add adds a new object and returns its number.
func (u *update) add(body string) int {
	n := u.next
	u.next++
	u.objs = append(u.objs, object{num: n, body: []byte(body)})
	return n
}

// replace writes a new version of an existing object.
func (u *update) replace(num, gen int, body string) {
	u.objs = append(u.objs, object{num: num, gen: gen, body: []byte(body)})
}

// addStream adds a Flate-compressed stream with the extra dictionary
// entries dict (may be empty) and returns its number.
func (u *update) addStream(dict string, data []byte) int {
	var z bytes.Buffer
	if u.z == nil {
		u.z, _ = zlib.NewWriterLevel(&z, zlib.BestCompression)
	} else {
		u.z.Reset(&z)
	}
	u.z.Write(data)
	u.z.Close()
	return u.add(fmt.Sprintf("<< %s/Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", dict, z.Len(), z.Bytes()))
}

// trailer holds what the new trailer repeats from the old one.
type trailer struct {
	root     string // "n g R"
	info     string // "" or "n g R"
	id       string // "" or "[<..> <..>]"
	prev     int64
	asStream bool
}

// write returns the bytes of the update, to be appended to a file of
// baseLen bytes (which must end with an end-of-line marker), and the
// offset in those bytes where each object starts.
func (u *update) write(baseLen int64, t trailer) ([]byte, map[int]int64) {
	var b bytes.Buffer
	offsets := map[int]int64{} // object number → offset in the whole file
	for _, o := range u.objs {
		offsets[o.num] = baseLen + int64(b.Len())
		fmt.Fprintf(&b, "%d %d obj\n", o.num, o.gen)
		b.Write(o.body)
		b.WriteString("\nendobj\n")
	}
	gens := map[int]int{}
	for _, o := range u.objs {
		gens[o.num] = o.gen
	}
	tail := ""
	if t.info != "" {
		tail += " /Info " + t.info
	}
	if t.id != "" {
		tail += " /ID " + t.id
	}
	xrefAt := baseLen + int64(b.Len())
	if t.asStream {
		xnum := u.next
		offsets[xnum] = xrefAt
		gens[xnum] = 0
		nums := sortedKeys(offsets)
		var rows bytes.Buffer
		for _, n := range nums {
			rows.WriteByte(1)
			binary.Write(&rows, binary.BigEndian, uint32(offsets[n]))
			binary.Write(&rows, binary.BigEndian, uint16(gens[n]))
		}
		var index []byte
		for _, r := range runs(nums) {
			index = fmt.Appendf(index, "%d %d ", r[0], r[1])
		}
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /Root %s /Prev %d%s /W [1 4 2] /Index [%s] /Length %d >>\nstream\n",
			xnum, xnum+1, t.root, t.prev, tail, bytes.TrimSpace(index), rows.Len())
		b.Write(rows.Bytes())
		b.WriteString("\nendstream\nendobj\n")
	} else {
		nums := sortedKeys(offsets)
		b.WriteString("xref\n")
		i := 0
		for _, r := range runs(nums) {
			fmt.Fprintf(&b, "%d %d\n", r[0], r[1])
			for range r[1] {
				n := nums[i]
				i++
				fmt.Fprintf(&b, "%010d %05d n\r\n", offsets[n], gens[n])
			}
		}
		fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %s /Prev %d%s >>\n", u.next, t.root, t.prev, tail)
	}
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", xrefAt)
	return b.Bytes(), offsets
}

func sortedKeys(m map[int]int64) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// runs groups sorted object numbers into [first, count] subsections.
func runs(nums []int) [][2]int {
	var out [][2]int
	for _, n := range nums {
		if len(out) > 0 && out[len(out)-1][0]+out[len(out)-1][1] == n {
			out[len(out)-1][1]++
			continue
		}
		out = append(out, [2]int{n, 1})
	}
	return out
}

// lastXref finds the offset after the last "startxref" and whether the
// section there is a cross-reference stream.
func lastXref(pdf []byte) (int64, bool, error) {
	i := bytes.LastIndex(pdf, []byte("startxref"))
	if i < 0 {
		return 0, false, errors.New("no startxref: not a pdf, or truncated")
	}
	rest := bytes.TrimLeft(pdf[i+len("startxref"):], " \t\r\n")
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	off, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil || off <= 0 || off >= int64(len(pdf)) {
		return 0, false, errors.New("startxref offset out of range")
	}
	return off, !bytes.HasPrefix(bytes.TrimLeft(pdf[off:], " \t\r\n"), []byte("xref")), nil
}
