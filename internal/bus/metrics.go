package bus

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the bus's Prometheus series. Labels are topic names, a small
// fixed set, never record keys.
type Metrics struct {
	produced      *prometheus.CounterVec
	producedBytes *prometheus.CounterVec
	produceErrors *prometheus.CounterVec
	produceTime   prometheus.Histogram
	consumed      *prometheus.CounterVec
}

// NewMetrics registers the bus series on reg. A nil reg gives working but
// unregistered metrics, for tests and tools.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_bus_produced_records_total",
			Help: "Records acknowledged by the brokers (acks=all), by topic.",
		}, []string{"topic"}),
		producedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_bus_produced_bytes_total",
			Help: "Key and value bytes acknowledged by the brokers, by topic.",
		}, []string{"topic"}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_bus_produce_errors_total",
			Help: "Write calls that failed after every retry, by topic of the first record.",
		}, []string{"topic"}),
		produceTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "passerelle_bus_produce_seconds",
			Help:    "Time for one synchronous write call, batching and retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_bus_consumed_records_total",
			Help: "Records handed to the application, by topic.",
		}, []string{"topic"}),
	}
	if reg != nil {
		reg.MustRegister(m.produced, m.producedBytes, m.produceErrors, m.produceTime, m.consumed)
	}
	return m
}
