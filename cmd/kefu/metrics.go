package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kefuhq/kefu/kb/semantic"
)

// metrics are kefu's Prometheus collectors, in a registry of their own.
type metrics struct {
	reg      *prometheus.Registry
	turns    *prometheus.CounterVec
	turnTime prometheus.Histogram
	requests *prometheus.CounterVec
	reqTime  *prometheus.HistogramVec

	unansweredDropped   prometheus.Counter
	interactionsDropped prometheus.Counter
	kbRevision          prometheus.Gauge
	semanticTime        *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_turns_total", Help: "Messages handled by the bot, by outcome (answer, fallback, urgent, failed_turns, late, …).",
		}, []string{"outcome"}),
		turnTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_turn_seconds", Help: "Time to handle one message.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .5, 1, 4, 10},
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		reqTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kefu_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .5, 1, 5},
		}, []string{"route"}),
		unansweredDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_unanswered_dropped_total", Help: "Unanswered questions not queued for editors because the writer fell behind.",
		}),
		interactionsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_quota_interactions_dropped_total", Help: "User interactions not reported to the quota tracker: its writer fell behind, or the server was stopping.",
		}),
		kbRevision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kefu_kb_revision", Help: "Publish revision of the knowledge base this instance answers from.",
		}),
		semanticTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kefu_semantic_rerank_seconds", Help: "Semantic re-ranking of a question, by outcome (fused, not_ready, timeout, error).",
			Buckets: []float64{.001, .005, .01, .05, .1, .2, .5, 1, 2},
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.turns, m.turnTime, m.requests, m.reqTime, m.unansweredDropped, m.interactionsDropped, m.kbRevision, m.semanticTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeTurn(outcome string, d time.Duration) {
	m.turns.WithLabelValues(outcome).Inc()
	m.turnTime.Observe(d.Seconds())
}

func (m *metrics) observeSemantic(outcome semantic.Outcome, d time.Duration) {
	m.semanticTime.WithLabelValues(string(outcome)).Observe(d.Seconds())
}

func (m *metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(c.Writer.Status())).Inc()
		m.reqTime.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
