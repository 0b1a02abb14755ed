package serviceaccount

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
)

// listPageSize is how many service accounts one request of the list brings: kubectl's
// page, about half a megabyte of metadata.
const listPageSize = 500

// account is one service account as the index keeps it: a runtime.Object only so that
// the reflector can hand a list of them to irsaIndex.Replace.
type account struct {
	key   string // namespace/name
	facts Facts
}

func (a *account) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (a *account) DeepCopyObject() runtime.Object   { c := *a; return &c }

// accountList is a whole list of service accounts, as listAccounts gives it.
type accountList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []*account
}

func (l *accountList) DeepCopyObject() runtime.Object {
	c := &accountList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&c.ListMeta)
	c.Items = make([]*account, len(l.Items))
	for i, a := range l.Items {
		c.Items[i] = a.DeepCopyObject().(*account)
	}
	return c
}

// listAccounts lists every service account, listPageSize at a time, each page bounded by
// pageTimeout, and keeps of each only what the index keeps: its key and facts. It calls
// firstPage, if not nil, once the first page has arrived.
//
// A list is where the memory of a large cluster goes, so the cache does it itself rather
// than leave it to the reflector. The reflector either gathers every page of full
// objects (managedFields and all) into one list before handing it over, or, streaming
// (WatchListClient), keeps each object in a temporary store until the stream ends:
// 50,000 service accounts took the heap past 40 MiB either way. Here each page is
// garbage as soon as the next one is asked for, and the list costs about what the
// index costs.
//
// It always reads the latest state (resource version ""): with the reflector's "0" (any
// cached state) the API server's watch cache ignores the page size and sends the whole
// list in one response. The latest state is never older than what the reflector asks
// for, so its watch resumes correctly from the list's version. The price is that an API
// server without consistent reads from its watch cache serves these pages from etcd:
// one paged read per 500 service accounts, at a replica's start and at each relist, as
// a paged kubectl get would. A continuation that expired (etcd compacted past the list's
// version while it ran) is an error like any other: the reflector lists again from the
// start, at once.
func listAccounts(ctx context.Context, resource metadata.ResourceInterface, pageTimeout time.Duration, firstPage func()) (*accountList, error) {
	out := &accountList{}
	opts := metav1.ListOptions{Limit: listPageSize}
	for page := 1; ; page++ {
		pageCtx, cancel := context.WithTimeout(ctx, pageTimeout)
		list, err := resource.List(pageCtx, opts)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list service accounts (page %d): %w", page, err)
		}
		if out.Items == nil {
			if firstPage != nil {
				firstPage()
			}
			n := len(list.Items)
			if r := list.RemainingItemCount; r != nil && *r > 0 && *r < maxPresized {
				n += int(*r)
			}
			out.Items = make([]*account, 0, n)
		}
		for i := range list.Items {
			m := &list.Items[i]
			out.Items = append(out.Items, &account{key: m.Namespace + "/" + m.Name, facts: factsOf(m.Annotations)})
		}
		if list.Continue == "" {
			out.ResourceVersion = list.ResourceVersion
			return out, nil
		}
		if list.Continue == opts.Continue {
			return nil, fmt.Errorf("list service accounts (page %d): the API server sent the continue token of the page before again", page)
		}
		opts.Continue = list.Continue
	}
}

// maxPresized bounds the room made for a list from the API server's count.
const maxPresized = 1 << 20

// listOnly is the cache's ListerWatcher: it tells the reflector not to stream the
// initial list (WatchListClient), whose temporary store would hold every object.
type listOnly struct{ *cache.ListWatch }

func (listOnly) IsWatchListSemanticsUnSupported() bool { return true }
