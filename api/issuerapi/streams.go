package issuerapi

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"elicence/api"
)

// Defaults of Config for the event stream.
const (
	DefaultMaxStreams          = 1000
	DefaultMaxStreamsPerClient = 32
	// streamRetryAfter is the Retry-After sent when no stream is free.
	streamRetryAfter = 30 * time.Second
)

// streamSlots counts open event streams, in all and per client address.
type streamSlots struct {
	max, perClient int

	mu       sync.Mutex
	total    int
	byClient map[string]int
}

func newStreamSlots(max, perClient int) *streamSlots {
	return &streamSlots{max: max, perClient: perClient, byClient: map[string]int{}}
}

// acquire takes a slot for client, or answers why none is free: 429 when
// this client has its share open, 503 when the server has all it serves.
func (l *streamSlots) acquire(client string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byClient[client] >= l.perClient {
		return nil, &api.Error{Kind: api.KindRateLimited, RetryAfter: streamRetryAfter,
			Detail: "too many open event streams from this address (at most " + strconv.Itoa(l.perClient) + "); close one or retry later"}
	}
	if l.total >= l.max {
		return nil, &api.Error{Kind: api.KindUnavailable, RetryAfter: streamRetryAfter,
			Detail: "the server has all the event streams it serves open (" + strconv.Itoa(l.max) + "); retry later, and poll the status lists meanwhile"}
	}
	l.total++
	l.byClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byClient[client]--; l.byClient[client] <= 0 {
				delete(l.byClient, client)
			}
		})
	}, nil
}

// clientAddr is the address a request came from: the peer's IP address
// (the port is dropped, so that one host's connections count together).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
