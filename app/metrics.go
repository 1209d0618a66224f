package app

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics counts what the /metrics endpoint exposes in the Prometheus text format.
type Metrics struct {
	WebhooksReceived atomic.Int64
	WebhooksRejected atomic.Int64
	EventsApplied    atomic.Int64
	EventsRetried    atomic.Int64
	EventsParked     atomic.Int64

	mu      sync.Mutex
	buckets []float64
	counts  []int64
	sum     float64
	total   int64
}

// NewMetrics returns zeroed counters with apply-latency buckets in seconds.
func NewMetrics() *Metrics {
	b := []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}
	return &Metrics{buckets: b, counts: make([]int64, len(b))}
}

// ObserveApply records how long one inbox item took to apply.
func (m *Metrics) ObserveApply(d time.Duration) {
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, le := range m.buckets {
		if s <= le {
			m.counts[i]++
		}
	}
	m.sum += s
	m.total++
}

// Write renders every metric; depth gives the inbox gauges.
func (m *Metrics) Write(w io.Writer, pending, failed, streams int) {
	counters := map[string]int64{
		"referralpulse_webhooks_received_total": m.WebhooksReceived.Load(),
		"referralpulse_webhooks_rejected_total": m.WebhooksRejected.Load(),
		"referralpulse_events_applied_total":    m.EventsApplied.Load(),
		"referralpulse_events_retried_total":    m.EventsRetried.Load(),
		"referralpulse_events_parked_total":     m.EventsParked.Load(),
	}
	names := make([]string, 0, len(counters))
	for n := range counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", n, n, counters[n])
	}
	fmt.Fprintf(w, "# TYPE referralpulse_inbox_pending gauge\nreferralpulse_inbox_pending %d\n", pending)
	fmt.Fprintf(w, "# TYPE referralpulse_inbox_failed gauge\nreferralpulse_inbox_failed %d\n", failed)
	fmt.Fprintf(w, "# TYPE referralpulse_event_streams gauge\nreferralpulse_event_streams %d\n", streams)

	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# TYPE referralpulse_apply_duration_seconds histogram")
	for i, le := range m.buckets {
		fmt.Fprintf(w, "referralpulse_apply_duration_seconds_bucket{le=\"%g\"} %d\n", le, m.counts[i])
	}
	fmt.Fprintf(w, "referralpulse_apply_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.total)
	fmt.Fprintf(w, "referralpulse_apply_duration_seconds_sum %g\n", m.sum)
	fmt.Fprintf(w, "referralpulse_apply_duration_seconds_count %d\n", m.total)
}
