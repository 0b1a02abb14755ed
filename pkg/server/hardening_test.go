package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/privateguard/privateguard/pkg/metrics"
)

// The tests of this file reproduce what a server in the admission path must survive:
// large and stalled bodies, slow clients, a restart under load. Each would fail against
// controller-runtime's webhook.Server as the server used it before.

// dialWebhook opens a TLS connection to the webhook, as a raw client would.
func (r *running) dialWebhook(t *testing.T, nextProtos ...string) *tls.Conn {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", r.webhookAddr,
		&tls.Config{RootCAs: r.ca.Pool, ServerName: "127.0.0.1", NextProtos: nextProtos})
	if err != nil {
		t.Fatalf("dial the webhook: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// startPost writes a POST's headers announcing length bytes of body, then the first
// sent bytes of it.
func startPost(conn net.Conn, path string, length, sent int) error {
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, length); err != nil {
		return err
	}
	_, err := conn.Write(make([]byte, sent))
	return err
}

// closedWithin reports whether the server closes conn (or answers and closes) within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestServeRefusesAnOversizedBodyBeforeReadingIt(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	srv := startServer(t, o, ca)
	refused := metrics.RequestsRefused.WithLabelValues(metrics.WebhookValidate, metrics.RefusedTooLarge)
	before := testutil.ToFloat64(refused)

	conn := srv.dialWebhook(t)
	if err := startPost(conn, ValidatePath, 8<<20, 0); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to an 8 MiB announcement without its body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	if got := testutil.ToFloat64(refused) - before; got != 1 {
		t.Errorf("refused as too large counted %v times, want 1", got)
	}
}

func TestServeBoundsTheMemoryOfStalledLargeBodies(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	o.ReadTimeout = 20 * time.Second // the stall outlasts the test
	srv := startServer(t, o, ca)
	base := heapInUse()

	// 30 clients announce a near-limit body, send 4 MiB of it and stall.
	const clients, sent = 30, 4 << 20
	var wg sync.WaitGroup
	for range clients {
		conn := srv.dialWebhook(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = startPost(conn, ValidatePath, 7<<20-1, sent) // fails once the server hangs up
		}()
	}
	time.Sleep(o.Limits.QueueWait + time.Second) // what cannot get room is refused by now

	start := time.Now()
	resp := srv.post(t, ValidatePath, "application/json", podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1"))
	took := time.Since(start)
	if !resp.Allowed {
		t.Errorf("a normal pod was not allowed while large bodies stalled: %+v", resp.Result)
	}
	grew := int64(heapInUse()) - int64(base)
	t.Logf("heap grew %d MiB with %d stalled 7 MiB bodies; a normal review took %s", grew>>20, clients, took)
	if limit := int64(o.Limits.LargeBytes) * 3; grew > limit {
		t.Errorf("the heap grew by %d MiB with stalled bodies in flight, want under %d MiB", grew>>20, limit>>20)
	}
	wg.Wait()
}

func TestServeAnswersNormalReviewsDuringAFloodOfLargeOnes(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	srv := startServer(t, o, ca)
	big := strings.Repeat("x", 7<<20-4096)
	body := []byte(strings.Replace(string(podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1")),
		`"metadata":{`, `"metadata":{"annotations":{"big":"`+big+`"},`, 1))

	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.client.Post(srv.webhookURL+ValidatePath, "application/json", strings.NewReader(string(body)))
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	var worst time.Duration
	for range 10 {
		start := time.Now()
		if resp := srv.post(t, ValidatePath, "application/json", podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1")); !resp.Allowed {
			t.Fatalf("a normal pod was not allowed during the flood: %+v", resp.Result)
		}
		worst = max(worst, time.Since(start))
	}
	wg.Wait()
	close(codes)
	answered := map[int]int{}
	for c := range codes {
		answered[c]++
	}
	t.Logf("16 parallel 7 MiB reviews answered %v; slowest normal review %s", answered, worst)
	for c := range answered {
		if c != http.StatusOK && c != http.StatusTooManyRequests {
			t.Errorf("a large review got HTTP %d, want 200 or 429", c)
		}
	}
}

func TestServeClosesSlowAndIdleConnections(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	o.ReadHeaderTimeout = 500 * time.Millisecond
	o.ReadTimeout = time.Second
	o.IdleTimeout = time.Second
	srv := startServer(t, o, ca)

	t.Run("headers that never end are cut at the header timeout", func(t *testing.T) {
		conn := srv.dialWebhook(t)
		_, _ = fmt.Fprint(conn, "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		if !closedWithin(conn, 5*time.Second) {
			t.Error("a connection with unfinished headers was still open after 5s")
		}
	})
	t.Run("a body trickling in is cut at the read timeout", func(t *testing.T) {
		conn := srv.dialWebhook(t)
		if err := startPost(conn, ValidatePath, 1000, 10); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a byte every 100ms: never idle, never done
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		if !closedWithin(conn, 5*time.Second) {
			t.Error("a connection trickling its body was still open after 5s")
		}
	})
	t.Run("an idle keep-alive connection is closed", func(t *testing.T) {
		conn := srv.dialWebhook(t)
		body := podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1")
		_, _ = fmt.Fprintf(conn, "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("first request: %v %v", resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err == nil || isTimeout(err) {
			t.Errorf("an idle keep-alive connection was still open after 5s (%v)", err)
		}
	})
	t.Run("HTTP/2 is not offered", func(t *testing.T) {
		conn := srv.dialWebhook(t, "h2", "http/1.1")
		if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
			t.Errorf("negotiated %q, want HTTP/1.1", p)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestServeDrainsOnShutdown(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	o.ShutdownDelay = 2 * time.Second
	o.ShutdownTimeout = 2 * time.Second
	o.ReadTimeout = time.Minute // the stalled client below is cut by the shutdown, not this
	srv := startServer(t, o, ca)
	stalled := srv.dialWebhook(t)
	if err := startPost(stalled, ValidatePath, 1<<20, 100); err != nil {
		t.Fatal(err)
	}
	good := podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1")

	srv.cancel() // what SIGTERM does
	began := time.Now()
	t.Run("readyz fails at once", func(t *testing.T) {
		deadline := time.Now().Add(time.Second)
		for {
			if code, _ := get(t, srv.healthURL+"/readyz"); code != http.StatusOK {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("/readyz still passed 1s after shutdown began")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("the webhook still answers during the delay", func(t *testing.T) {
		for time.Since(began) < o.ShutdownDelay-500*time.Millisecond {
			if resp := srv.post(t, ValidatePath, "application/json", good); !resp.Allowed {
				t.Fatalf("refused during the delay: %+v", resp.Result)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("it exits within the delay and the shutdown timeout despite a stalled client", func(t *testing.T) {
		limit := o.ShutdownDelay + o.ShutdownTimeout + 3*time.Second
		select {
		case err := <-srv.done:
			srv.done <- err // for the cleanup
			t.Logf("exited %s after shutdown began", time.Since(began).Round(10*time.Millisecond))
			if took := time.Since(began); took < o.ShutdownDelay {
				t.Errorf("exited after %s, before the shutdown delay", took)
			}
		case <-time.After(time.Until(began.Add(limit))):
			t.Fatalf("still running %s after shutdown began", limit)
		}
	})
}

// TestServeAnswersNormalReviewsWhileEveryRequestSlotCouldBeLarge: more stalled large
// bodies than there are request slots. Small reviews have a pool of their own: before,
// a large body held one of the shared slots while it waited or stalled, and with all of
// them held a normal pod's review was refused with 429.
func TestServeAnswersNormalReviewsWhileEveryRequestSlotCouldBeLarge(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	o.Limits.MaxRequests = 4
	o.Limits.LargeBytes = 64 << 20 // room for every stalled body: only the request slots are short
	o.ReadTimeout = 20 * time.Second
	srv := startServer(t, o, ca)

	for range 8 { // 200 KiB announced, 100 KiB sent, then nothing
		conn := srv.dialWebhook(t)
		if err := startPost(conn, ValidatePath, 200<<10, 100<<10); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the stalled requests have their slots by now
	for i := range 3 {
		start := time.Now()
		resp := srv.post(t, ValidatePath, "application/json", podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1"))
		if !resp.Allowed {
			t.Fatalf("normal review %d with 8 large bodies stalled and 4 request slots: %+v", i, resp.Result)
		}
		if took := time.Since(start); took > o.Limits.QueueWait {
			t.Errorf("normal review %d took %s, as long as a wait for a slot", i, took)
		}
	}
}
