package server

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestRequestTimeout(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  time.Duration
	}{
		{name: "the API server's timeout is used", query: "?timeout=5s", want: 5 * time.Second},
		{name: "no timeout gives the API server's default", query: "", want: defaultRequestTimeout},
		{name: "a malformed timeout gives the default", query: "?timeout=soon", want: defaultRequestTimeout},
		{name: "a negative timeout gives the default", query: "?timeout=-1s", want: defaultRequestTimeout},
		{name: "a huge timeout is capped", query: "?timeout=1h", want: maxRequestTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/validate"+tt.query, nil)
			if got := requestTimeout(r); got != tt.want {
				t.Errorf("requestTimeout = %v, want %v", got, tt.want)
			}
		})
	}
}
