// Package policywatch holds the policy in force and reloads it when its file changes.
//
// The file is polled: every Interval it is read and its SHA-256 compared with the last
// content seen. Polling was chosen over fsnotify on purpose. The policy arrives as a
// ConfigMap volume, which the kubelet updates by swapping a `..data` symlink: an inotify
// watch must then sit on the directory, filter the right events and re-arm after renames,
// and it misses changes on some volume types. A read of a small file every two seconds
// costs nothing, sees every way a file can change, and a change still takes effect within
// seconds of the kubelet's own sync delay, which is already tens of seconds.
//
// A new file that does not load (bad YAML, unknown field, bad glob) is rejected: the last
// good policy stays in force, the error is logged once for that content, and
// privateguard_config_reloads_total{result="error"} counts it.
package policywatch

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policy"
)

// Options configure a Watcher. The zero value gives the defaults.
type Options struct {
	// Interval between two reads of the file. Default 2s.
	Interval time.Duration
	// Logger for reloads. Default: discard.
	Logger logr.Logger
}

// DefaultInterval is Options.Interval's default.
const DefaultInterval = 2 * time.Second

// Watcher holds the policy in force, safe for concurrent readers, and reloads it when
// its file changes.
type Watcher struct {
	path     string
	interval time.Duration
	log      logr.Logger
	current  atomic.Pointer[policy.Policy]

	// Owned by the goroutine running Start.
	lastSum  [sha256.Size]byte
	lastRead string // the last read error, so that one error is logged once
}

// New loads the policy file at path. An error here means the server must not start: there
// is no last good policy to fall back to.
func New(path string, opts Options) (*Watcher, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	w := &Watcher{path: path, interval: opts.Interval, log: opts.Logger}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	p, err := w.parse(data)
	if err != nil {
		return nil, err
	}
	w.current.Store(p)
	w.lastSum = sha256.Sum256(data)
	return w, nil
}

// Current is the policy in force. Each admission request reads it once, so one request is
// judged by one policy even while a reload happens.
func (w *Watcher) Current() *policy.Policy { return w.current.Load() }

// Start polls the file until ctx is done, then returns nil.
func (w *Watcher) Start(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.check()
		}
	}
}

// check reloads the file if its content changed since the last check.
func (w *Watcher) check() {
	data, err := os.ReadFile(w.path)
	if err != nil {
		// During a ConfigMap update the file can be briefly absent; the last good policy
		// stays, and the error is reported once until it changes.
		if msg := err.Error(); msg != w.lastRead {
			w.lastRead = msg
			metrics.ConfigReloads.WithLabelValues(metrics.ReloadError).Inc()
			w.log.Error(err, "policy reload failed; keeping the last good policy", "path", w.path)
		}
		return
	}
	w.lastRead = ""
	sum := sha256.Sum256(data)
	if sum == w.lastSum {
		return
	}
	w.lastSum = sum
	p, err := w.parse(data)
	if err != nil {
		metrics.ConfigReloads.WithLabelValues(metrics.ReloadError).Inc()
		w.log.Error(err, "policy reload rejected; keeping the last good policy", "path", w.path)
		return
	}
	w.current.Store(p)
	metrics.ConfigReloads.WithLabelValues(metrics.ReloadSuccess).Inc()
	w.log.Info("policy reloaded", "path", w.path, "region", p.Region())
}

// parse compiles the file's content, by the same path as policy.Load.
func (w *Watcher) parse(data []byte) (*policy.Policy, error) {
	p, err := policy.ParseFrom(w.path, data)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return p, nil
}
