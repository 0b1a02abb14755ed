// Package idlewatch restarts Kubernetes watches that went silent: an API server that
// accepted a watch and then hung would otherwise hold a reflector forever, since a
// watch has no client-side timeout.
package idlewatch

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

// Start starts a watch with start and stops it when nothing (no event, no bookmark)
// arrived for idle, from the call on, calling onIdle first. The reflector sees the
// stopped watch end and starts another. Reflectors ask for bookmarks, which the API
// server sends about every minute, so a few minutes of silence means a hung watch.
func Start(ctx context.Context, idle time.Duration, onIdle func(), start func(context.Context) (watch.Interface, error)) (watch.Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(idle, func() { onIdle(); cancel() })
	inner, err := start(ctx)
	if err != nil {
		timer.Stop()
		cancel()
		return nil, err
	}
	w := &idleWatch{inner: inner, out: make(chan watch.Event), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(w.out)
		defer timer.Stop()
		for {
			select {
			case ev, ok := <-inner.ResultChan():
				if !ok {
					return
				}
				timer.Reset(idle)
				select {
				case w.out <- ev:
				case <-w.done:
					return
				}
			case <-ctx.Done():
				inner.Stop()
				return
			case <-w.done:
				return
			}
		}
	}()
	return w, nil
}

// idleWatch is the watch.Interface of watchWithIdleTimeout.
type idleWatch struct {
	inner  watch.Interface
	out    chan watch.Event
	done   chan struct{}
	once   sync.Once
	cancel context.CancelFunc
}

func (w *idleWatch) Stop() {
	w.once.Do(func() {
		close(w.done)
		w.inner.Stop()
		w.cancel()
	})
}

func (w *idleWatch) ResultChan() <-chan watch.Event { return w.out }
