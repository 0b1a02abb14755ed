package audit

import (
	"context"
	"errors"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakePages serves items pageSize at a time with continue tokens "1", "2", ..., and
// records every request. expireAt makes the request with that continue token fail with
// HTTP 410, as when etcd has compacted the list's revision.
type fakePages struct {
	items    []string
	expireAt string
	fail     error
	requests []metav1.ListOptions
}

func (f *fakePages) list(_ context.Context, opts metav1.ListOptions) ([]string, string, error) {
	f.requests = append(f.requests, opts)
	if f.fail != nil {
		return nil, "", f.fail
	}
	if opts.Continue != "" && opts.Continue == f.expireAt {
		return nil, "", apierrors.NewResourceExpired("the provided continue parameter is too old")
	}
	if opts.Limit == 0 {
		return f.items, "", nil
	}
	start := 0
	if opts.Continue != "" {
		start = int(opts.Continue[0]-'0') * int(opts.Limit)
	}
	end := min(start+int(opts.Limit), len(f.items))
	next := ""
	if end < len(f.items) {
		next = string(rune('0' + start/int(opts.Limit) + 1))
	}
	return f.items[start:end], next, nil
}

func TestListAll(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		name         string
		pages        fakePages
		pageSize     int64
		want         []string
		wantErr      bool
		wantRequests []metav1.ListOptions
	}{
		{
			name:     "every page is read, following the continue tokens",
			pages:    fakePages{items: items},
			pageSize: 2,
			want:     items,
			wantRequests: []metav1.ListOptions{
				{Limit: 2}, {Limit: 2, Continue: "1"}, {Limit: 2, Continue: "2"},
			},
		},
		{
			name:         "a list smaller than a page is one request",
			pages:        fakePages{items: items},
			pageSize:     500,
			want:         items,
			wantRequests: []metav1.ListOptions{{Limit: 500}},
		},
		{
			name:         "an empty list is empty",
			pages:        fakePages{},
			pageSize:     500,
			want:         nil,
			wantRequests: []metav1.ListOptions{{Limit: 500}},
		},
		{
			name:     "an expired continue token restarts with one full list, dropping the pages read",
			pages:    fakePages{items: items, expireAt: "2"},
			pageSize: 2,
			want:     items,
			wantRequests: []metav1.ListOptions{
				{Limit: 2}, {Limit: 2, Continue: "1"}, {Limit: 2, Continue: "2"}, {},
			},
		},
		{
			name:         "an error is returned",
			pages:        fakePages{fail: apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no list permission"))},
			pageSize:     2,
			wantErr:      true,
			wantRequests: []metav1.ListOptions{{Limit: 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listAll(context.Background(), tc.pageSize, tc.pages.list)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("items = %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(tc.pages.requests, tc.wantRequests) {
				t.Errorf("requests = %+v, want %+v", tc.pages.requests, tc.wantRequests)
			}
		})
	}
}
