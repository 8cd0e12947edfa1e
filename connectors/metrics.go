package connectors

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the connectors' series; labels are domains and defect codes,
// both small fixed sets.
type Metrics struct {
	read      *prometheus.CounterVec
	published *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	lag       *prometheus.GaugeVec
}

// NewMetrics registers the series on reg; nil reg gives unregistered ones.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		read: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_connector_rows_read_total",
			Help: "Rows read from the source system.",
		}, []string{"domain"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_connector_records_published_total",
			Help: "Signed records acknowledged by Kafka.",
		}, []string{"domain"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_connector_rows_rejected_total",
			Help: "Rows sent to the dead-letter topic, by defect code.",
		}, []string{"domain", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "passerelle_connector_publish_seconds",
			Help:    "Time from reading a batch to Kafka acknowledging it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"domain"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passerelle_connector_source_lag_rows",
			Help: "Rows waiting in the source after the checkpoint, where the source can tell.",
		}, []string{"domain"}),
	}
	if reg != nil {
		reg.MustRegister(m.read, m.published, m.rejected, m.latency, m.lag)
	}
	return m
}
