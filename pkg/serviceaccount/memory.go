package serviceaccount

import (
	"context"
	"runtime/debug"
	"time"
)

// releaseListMemory waits for the cache's first sync, then returns the memory of the
// initial list to the system. That list is the server's one large allocation (tens of
// MiB in a cluster with 50,000 service accounts) and is garbage once the cache holds its
// few bytes per account; without this the process would keep it until the runtime's
// next forced collection and its scavenger get to it, minutes later.
func releaseListMemory(ctx context.Context, synced func() bool) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !synced() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	debug.FreeOSMemory()
}
