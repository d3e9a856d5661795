package verifierapi_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"elicence/api/verifierapi"
	"elicence/internal/testenv"
)

// blankPNG16 is a w×h 16-bit RGBA PNG of transparent black, written row by
// row: it compresses a thousandfold, as a hostile upload does.
func blankPNG16(w, h int) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		out.Write(c)
		binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	row := make([]byte, 1+8*w)
	for range h {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// peakHeap runs fn while sampling the heap and returns how far the heap
// rose above where it was after a collection.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var base, ms runtime.MemStats
	runtime.ReadMemStats(&base)
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	peak := <-done
	if peak < base.HeapAlloc {
		return 0
	}
	return peak - base.HeapAlloc
}

// Image memory bounds. Before the header checks, one 340 KB 16-bit PNG
// of 6000×6000 took about 640 MB, and 6 at once 2.2 GB.
const (
	hostileUploads   = 6
	hostileHeapBound = 32 << 20
	// The largest 16-bit PNG accepted, sent 12 times at once to a verifier
	// with 2 decoders and 128 MiB of decode memory: the heap may rise by
	// the decode memory, the uploads held and the collector's slack.
	maxSizeUploads   = 12
	decodeMemory     = 128 << 20
	maxSizeHeapBound = 256 << 20
)

func TestImageUploadMemoryBound(t *testing.T) {
	testenv.MemoryBound(t)
	h := verifierapi.NewHandler(verifierapi.Config{Logger: slog.New(slog.DiscardHandler), MaxDecoders: 2, DecodeMemory: decodeMemory})
	srv := httptest.NewServer(h)
	defer srv.Close()
	upload := func(t *testing.T, data []byte, n int) map[int]int {
		t.Helper()
		body, ct := multipartBody(t, map[string][]byte{"image": data})
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				res, err := http.Post(srv.URL, ct, bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusServiceUnavailable {
					if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s <= 0 {
						t.Errorf("503 without Retry-After")
					}
				}
				mu.Lock()
				statuses[res.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return statuses
	}

	t.Run("hostile", func(t *testing.T) {
		data := blankPNG16(6000, 6000) // 288 MB decoded
		var statuses map[int]int
		grew := peakHeap(func() { statuses = upload(t, data, hostileUploads) })
		t.Logf("%d × %d-byte 6000×6000 16-bit PNG at once: %v, heap +%.1f MB (bound %d MB)", hostileUploads, len(data), statuses, float64(grew)/(1<<20), hostileHeapBound>>20)
		if statuses[http.StatusRequestEntityTooLarge] != hostileUploads {
			t.Fatalf("statuses %v, want all %d", statuses, http.StatusRequestEntityTooLarge)
		}
		if grew > hostileHeapBound {
			t.Fatalf("heap rose %.1f MB, bound %d MB", float64(grew)/(1<<20), hostileHeapBound>>20)
		}
	})
	t.Run("largest accepted", func(t *testing.T) {
		data := blankPNG16(2890, 2890) // 64 MiB decoded, the most accepted
		var statuses map[int]int
		grew := peakHeap(func() { statuses = upload(t, data, maxSizeUploads) })
		t.Logf("%d × %d-byte 2890×2890 16-bit PNG at once: %v, heap +%.1f MB (bound %d MB)", maxSizeUploads, len(data), statuses, float64(grew)/(1<<20), maxSizeHeapBound>>20)
		if statuses[http.StatusUnprocessableEntity] == 0 || statuses[http.StatusUnprocessableEntity]+statuses[http.StatusServiceUnavailable] != maxSizeUploads {
			t.Fatalf("statuses %v, want 422 (decoded, no QR code) or 503 (busy)", statuses)
		}
		if grew > maxSizeHeapBound {
			t.Fatalf("heap rose %.1f MB, bound %d MB", float64(grew)/(1<<20), maxSizeHeapBound>>20)
		}
	})
}
