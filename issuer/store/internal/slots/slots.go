// Package slots draws status-list indices uniformly at random with
// crypto/rand, so that a list's content reveals nothing about the order in
// which licences were issued.
package slots

import (
	"crypto/rand"
	"encoding/binary"
)

// Random returns an index in [0, size), uniformly distributed. size must
// be positive.
func Random(size int) int {
	n := uint64(size)
	// Reject the top partial range so every index is equally likely.
	limit := ^uint64(0) - (^uint64(0) % n)
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails
		if v := binary.LittleEndian.Uint64(b[:]); v < limit {
			return int(v % n)
		}
	}
}

// Distinct returns n distinct random indices in [0, size) that are not in
// taken. It adds them to taken. The caller must ensure that size minus
// len(taken) is comfortably larger than n (the store never fills a list
// beyond half), or Distinct can take very long.
func Distinct(size, n int, taken map[int]bool) []int {
	out := make([]int, 0, n)
	for len(out) < n {
		i := Random(size)
		if taken[i] {
			continue
		}
		taken[i] = true
		out = append(out, i)
	}
	return out
}
