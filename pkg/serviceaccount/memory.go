package serviceaccount

import (
	"runtime/debug"
	"sync"
)

// listGCPercent is the collector's target (GOGC) while a list of every service account
// runs. A list is the server's one burst of short-lived garbage (each page of 500
// service accounts is decoded whole, then dropped, and the index is built anew from
// the result), and at the default of 100 the heap may grow to twice what is live before
// the collector runs: with 50,000 service accounts that headroom was a fifth of the
// process's peak memory. For the second or so of a list the collector runs four times
// as often instead; then the process's own setting is back.
const listGCPercent = 25

// eagerGC lowers the collector's target for as long as any cache is listing.
var eagerGC struct {
	sync.Mutex
	listing int // lists running
	saved   int // the process's own GOGC, restored when the last one ends
}

// collectEagerly lowers GOGC to listGCPercent (unless the process runs with less, or
// with the collector off) and returns the function that gives it back.
func collectEagerly() (restore func()) {
	eagerGC.Lock()
	defer eagerGC.Unlock()
	if eagerGC.listing == 0 {
		eagerGC.saved = debug.SetGCPercent(listGCPercent)
		if eagerGC.saved < listGCPercent { // off (-1) or already lower: leave it as it was
			debug.SetGCPercent(eagerGC.saved)
		}
	}
	eagerGC.listing++
	var once sync.Once
	return func() {
		once.Do(func() {
			eagerGC.Lock()
			defer eagerGC.Unlock()
			if eagerGC.listing--; eagerGC.listing == 0 {
				debug.SetGCPercent(eagerGC.saved)
			}
		})
	}
}
