package tlog_test

import (
	"testing"

	"elicence/tlog"
	"elicence/tlog/tlogtest"
)

// TestMemoryStoreConformance runs the store suite on the in-memory store.
func TestMemoryStoreConformance(t *testing.T) {
	tlogtest.Run(t, func(*testing.T) tlogtest.Store { return tlog.NewMemoryStore() })
}
