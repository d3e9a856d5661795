package verifier

import (
	"fmt"
)

// statusReady reports an error when the cache can give no verdict on
// status at all: it has tried to fetch status lists, holds none of them,
// and the last fetch of each failed. Every verification that needs a
// status list would then answer TRY_LATER. A list that is held, even past
// its time-to-live, still serves (the verifier's MaxStaleness decides),
// and one department's lists failing while another's are held does not
// make the verifier unready: another verifier would fail the same way.
func (c *Cache) statusReady() error {
	if c.cfg.StatusDir != "" {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var last error
	for _, e := range c.status {
		if e.cur != nil || e.lastErr == nil {
			return nil
		}
		last = e.lastErr
	}
	if last == nil {
		return nil
	}
	return fmt.Errorf("no status list can be fetched (%d tried): %w", len(c.status), last)
}
