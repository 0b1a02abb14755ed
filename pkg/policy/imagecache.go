package policy

import (
	"sync"
	"sync/atomic"
)

// imageCacheSize bounds the memo of parsed images. A cluster runs far fewer distinct
// images; when a flood of distinct references fills it, it starts over.
const imageCacheSize = 4096

// imageCache memoizes parseImage. Parsing through distribution/reference's regular
// expressions is the engine's largest cost, and the same images arrive again and again.
// It is safe for concurrent use and invisible to callers: a parse gives the same result
// whether it is cached or not.
type imageCache struct {
	entries sync.Map // raw reference → *parsedImage
	size    atomic.Int32
}

type parsedImage struct {
	img image
	err error
}

func (c *imageCache) parse(raw string) (image, error) {
	if v, ok := c.entries.Load(raw); ok {
		p := v.(*parsedImage)
		return p.img, p.err
	}
	img, err := parseImage(raw)
	if c.size.Add(1) > imageCacheSize {
		c.entries.Clear()
		c.size.Store(1)
	}
	c.entries.Store(raw, &parsedImage{img, err})
	return img, err
}
