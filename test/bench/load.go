package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one run measured.
type result struct {
	requests  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r *result) merge(o result) {
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
}

// without is the result with the requests of the marked corpus entries left out (request
// i used entry i mod len(skip)).
func (r *result) without(skip []bool) result {
	out := result{elapsed: r.elapsed}
	for i, l := range r.latencies {
		if !skip[i%len(skip)] {
			out.latencies = append(out.latencies, l)
			out.requests++
		}
	}
	return out
}

func (r *result) throughput() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// percentile of the latencies, p in [0, 100].
func (r *result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// newClient is a keep-alive HTTP/1.1 TLS client trusting ca.
func newClient(caPEM []byte, conns int) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// send posts one AdmissionReview and drains the answer; a non-200 answer is an error.
func send(c *http.Client, url string, body []byte) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// closedLoop sends n requests from `workers` concurrent clients, each sending the next
// request as soon as its previous one is answered, cycling through the corpus.
func closedLoop(c *http.Client, url string, bodies [][]byte, n, workers int) result {
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				if err := send(c, url, bodies[i%len(bodies)]); err != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return result{requests: n, errors: int(errs.Load()), elapsed: time.Since(start), latencies: lat}
}

// fixedRate sends rate requests per second for d, whatever the answers' speed, and
// measures each latency from the moment the request was due, so that a stall is counted
// against every request it delays (no coordinated omission).
func fixedRate(c *http.Client, url string, bodies [][]byte, rate int, d time.Duration, workers int) result {
	n := int(d.Seconds() * float64(rate))
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	due := make(chan int, n)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range due {
				at := start.Add(time.Duration(i) * interval)
				if err := send(c, url, bodies[i%len(bodies)]); err != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(at)
			}
		}()
	}
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		due <- i
	}
	close(due)
	wg.Wait()
	return result{requests: n, errors: int(errs.Load()), elapsed: time.Since(start), latencies: lat}
}
