package idlewatch

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func TestStartRestartsAHangingWatch(t *testing.T) {
	var idled atomic.Bool
	hanging := watch.NewFake()
	w, err := Start(context.Background(), 100*time.Millisecond, func() { idled.Store(true) },
		func(context.Context) (watch.Interface, error) { return hanging, nil })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-w.ResultChan():
		if ok {
			t.Fatal("an event from a watch that sends none")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a watch that delivered nothing was still open after 5s")
	}
	if !idled.Load() {
		t.Error("the restart was not reported")
	}

	live := watch.NewFake()
	w, err = Start(context.Background(), 200*time.Millisecond, func() {},
		func(context.Context) (watch.Interface, error) { return live, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for range 5 { // events every 100ms keep it open
		go live.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}})
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("a watch delivering events was stopped")
			}
		case <-time.After(time.Second):
			t.Fatal("no event")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
