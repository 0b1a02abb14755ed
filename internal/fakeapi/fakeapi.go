// Package fakeapi is a fake Kubernetes API server for the server's tests and the fault
// suite: it serves service accounts as metadata, the way privateguard's cache reads them
// (a paged list, a watch, GETs of single ones), and it can fail: every request answered
// with an internal error, or held until the outage ends or the client gives up.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Outage is how the server fails.
type Outage string

const (
	// Up serves every request.
	Up Outage = ""
	// InternalError answers every request with a 500 and a long Status message, as an
	// unhappy etcd gives.
	InternalError Outage = "500"
	// Hang holds every request until the outage ends (it is then served) or the client
	// gives up; a watch in progress ends.
	Hang Outage = "hang"
)

// Server is the fake API server. The zero value serves no service accounts.
type Server struct {
	outage atomic.Value // Outage
	// expired makes watches end with 410 Gone (the version they resume from was
	// compacted away) until the next list.
	expired atomic.Bool

	mu         sync.Mutex
	accounts   map[string]map[string]string // namespace/name → annotations
	gets       []string
	lists      []url.Values
	userAgents map[string]bool
}

// New returns a server holding the given service accounts (namespace/name →
// annotations).
func New(accounts map[string]map[string]string) *Server {
	s := &Server{}
	for key, annotations := range accounts {
		s.Put(key, annotations)
	}
	return s
}

// Start serves s on 127.0.0.1 until the test ends and returns the path of a kubeconfig
// that points at it.
func (s *Server) Start(t testing.TB) (kubeconfig string) {
	t.Helper()
	srv := httptest.NewServer(s) // 127.0.0.1
	t.Cleanup(srv.Close)
	kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {token: test}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// SetOutage makes the server fail as o from now on; Up ends the outage.
func (s *Server) SetOutage(o Outage) { s.outage.Store(o) }

func (s *Server) currentOutage() Outage {
	o, _ := s.outage.Load().(Outage)
	return o
}

// Put creates or replaces a service account (namespace/name). Watches do not see it:
// the cache must find it by a GET.
func (s *Server) Put(key string, annotations map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts == nil {
		s.accounts = map[string]map[string]string{}
	}
	s.accounts[key] = annotations
}

// Delete removes a service account. Watches do not see it: the cache must list again.
func (s *Server) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, key)
}

// ExpireWatches ends the watches in progress, and refuses new ones until the next list,
// as an API server does once the version a watch would resume from is compacted away:
// the client must list again.
func (s *Server) ExpireWatches() { s.expired.Store(true) }

// Gets is the service accounts read one by one so far (namespace/name), in order.
func (s *Server) Gets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gets)
}

// Lists is the query of every list request so far, in order.
func (s *Server) Lists() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lists)
}

// SawUserAgent reports whether a request came with this User-Agent.
func (s *Server) SawUserAgent(agent string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userAgents[agent]
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for s.currentOutage() == Hang {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	if s.currentOutage() == InternalError {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"InternalError","code":500,"message":%q}`, strings.Repeat("etcdserver: request timed out. ", 80))
		return
	}
	s.mu.Lock()
	if s.userAgents == nil {
		s.userAgents = map[string]bool{}
	}
	s.userAgents[r.UserAgent()] = true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/api/v1/serviceaccounts" && r.URL.Query().Get("watch") == "true":
		s.watch(w, r)
	case r.URL.Path == "/api/v1/serviceaccounts":
		s.list(w, r)
	case len(parts) == 6 && parts[2] == "namespaces" && parts[4] == "serviceaccounts":
		key := parts[3] + "/" + parts[5]
		s.mu.Lock()
		s.gets = append(s.gets, key)
		annotations, ok := s.accounts[key]
		s.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
			return
		}
		_ = json.NewEncoder(w).Encode(object(key, annotations))
	default:
		http.NotFound(w, r)
	}
}

// list answers a list page: the service accounts in key order, limit at a time, the
// continue token being the offset of the next one.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("continue"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	s.expired.Store(false)
	s.mu.Lock()
	s.lists = append(s.lists, q)
	keys := make([]string, 0, len(s.accounts))
	for key := range s.accounts {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	offset = min(max(offset, 0), len(keys))
	end := len(keys)
	if limit > 0 {
		end = min(offset+limit, len(keys))
	}
	items := make([]any, 0, end-offset)
	for _, key := range keys[offset:end] {
		items = append(items, object(key, s.accounts[key]))
	}
	s.mu.Unlock()
	listMeta := map[string]any{"resourceVersion": "1"}
	if end < len(keys) {
		listMeta["continue"] = strconv.Itoa(end)
		listMeta["remainingItemCount"] = len(keys) - end
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": listMeta, "items": items,
	})
}

// watch sends nothing until the client leaves or an outage begins (the connection then
// drops, as when an API server goes away), or it expires (ExpireWatches).
func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	w.(http.Flusher).Flush()
	for s.currentOutage() == Up {
		if s.expired.Load() {
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "ERROR", "object": map[string]any{
				"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "Expired", "code": http.StatusGone,
				"message": "too old resource version",
			}})
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func object(key string, annotations map[string]string) map[string]any {
	namespace, name, _ := strings.Cut(key, "/")
	return map[string]any{
		"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
		"metadata": map[string]any{"namespace": namespace, "name": name, "resourceVersion": "1", "annotations": annotations},
	}
}
