package policy

import "sync"

// imageCacheSize bounds the memo of parsed images. A cluster runs far fewer distinct
// images; when a flood of distinct references fills it, it starts over.
const imageCacheSize = 4096

// imageCache memoizes what the policy concludes about an image reference: its parse and
// its rewrite. Parsing and rebuilding references through distribution/reference's regular
// expressions is the engine's largest cost, and the same images arrive again and again.
// Both depend only on the reference and the policy, so each Policy has its own cache. It
// is safe for concurrent use and invisible to callers: an answer is the same whether it
// is cached or not.
type imageCache struct {
	policy  *Policy
	mu      sync.RWMutex
	entries map[string]*imageFacts
}

// imageFacts is what the policy concludes about one image reference.
type imageFacts struct {
	img image
	err error // the parse error, if it does not parse
	// rewritten is the reference image-rewrite moves the image to, "" if none.
	rewritten string
	to        image
}

func newImageCache(p *Policy) *imageCache {
	return &imageCache{policy: p, entries: make(map[string]*imageFacts)}
}

// facts returns the facts about raw, computing them on the first request.
func (c *imageCache) facts(raw string) *imageFacts {
	c.mu.RLock()
	f, ok := c.entries[raw]
	c.mu.RUnlock()
	if ok {
		return f
	}
	f = &imageFacts{}
	if f.img, f.err = parseImage(raw); f.err == nil {
		if to, ok := c.policy.rewrite(f.img); ok {
			f.to, f.rewritten = to, to.String()
		}
	}
	c.mu.Lock()
	if len(c.entries) >= imageCacheSize {
		clear(c.entries)
	}
	c.entries[raw] = f
	c.mu.Unlock()
	return f
}
