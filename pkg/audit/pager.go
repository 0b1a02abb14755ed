package audit

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultPageSize is how many objects ClusterLister asks for per request: large clusters
// are listed in pages instead of one response holding every pod.
const DefaultPageSize = 500

// listPage lists one page: the items and the continue token of the next page, empty after
// the last.
type listPage[T any] func(ctx context.Context, opts metav1.ListOptions) (items []T, next string, err error)

// listAll lists every item, pageSize at a time. When the continue token expires (a list
// slower than the API server's compaction, HTTP 410), the pages read so far are dropped
// and the whole list is read in one request, as client-go's pager does.
func listAll[T any](ctx context.Context, pageSize int64, list listPage[T]) ([]T, error) {
	var all []T
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		items, next, err := list(ctx, opts)
		if err != nil {
			if opts.Continue != "" && apierrors.IsResourceExpired(err) {
				items, _, err = list(ctx, metav1.ListOptions{})
				return items, err
			}
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		opts.Continue = next
	}
}
