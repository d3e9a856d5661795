package slots

import "testing"

func TestRandomRange(t *testing.T) {
	const size = 131072
	seen := map[int]bool{}
	for range 10000 {
		i := Random(size)
		if i < 0 || i >= size {
			t.Fatalf("Random(%d) = %d, out of range", size, i)
		}
		seen[i] = true
	}
	// 10000 draws from 131072 collide about 380 times; far fewer distinct
	// values would mean the draws are not spread over the range.
	if len(seen) < 9000 {
		t.Errorf("%d distinct values in 10000 draws", len(seen))
	}
}

func TestRandomCoversSmallRange(t *testing.T) {
	counts := make([]int, 3)
	for range 3000 {
		counts[Random(3)]++
	}
	for i, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("index %d drawn %d times in 3000, want about 1000", i, c)
		}
	}
}

func TestDistinct(t *testing.T) {
	taken := map[int]bool{0: true, 1: true}
	got := Distinct(8, 4, taken)
	if len(got) != 4 {
		t.Fatalf("got %d indices, want 4", len(got))
	}
	seen := map[int]bool{}
	for _, i := range got {
		if i < 2 || i >= 8 || seen[i] {
			t.Errorf("index %d: taken, duplicate or out of range (%v)", i, got)
		}
		seen[i] = true
	}
	if len(taken) != 6 {
		t.Errorf("taken has %d entries, want 6", len(taken))
	}
}
