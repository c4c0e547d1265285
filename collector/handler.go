package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// gaugeType is the type of every family of this package.
var gaugeType = dto.MetricType_GAUGE.Enum()

// acceptedFormats are the exposition formats Serve offers: Prometheus text
// and protobuf, as promhttp does by default.
var acceptedFormats = expfmt.DefaultAcceptedFormats()

// ScrapeTimeoutHeader is the header in which Prometheus sends its scrape timeout.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// HandlerOpts configures Serve.
type HandlerOpts struct {
	// TimeoutOffset is taken off Prometheus' scrape timeout, so that the
	// answer arrives before Prometheus gives up.
	TimeoutOffset time.Duration
	Logger        *slog.Logger
}

// ScrapeTimeout returns how long a scrape may spend on DocSpace: the smaller
// of max and the request's scrape timeout header minus offset. When the
// header is smaller than the offset, half of it is used. A header that is not
// a positive number of seconds is an error.
func ScrapeTimeout(r *http.Request, max, offset time.Duration) (time.Duration, error) {
	v := r.Header.Get(ScrapeTimeoutHeader)
	if v == "" {
		return max, nil
	}
	seconds, err := strconv.ParseFloat(v, 64)
	if err != nil || seconds <= 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return 0, fmt.Errorf("invalid %s header %s: want a positive number of seconds", ScrapeTimeoutHeader, truncate(strconv.Quote(v), 40))
	}
	header := time.Duration(seconds * float64(time.Second))
	timeout := header - offset
	if timeout <= 0 {
		timeout = header / 2
	}
	return min(timeout, max), nil
}

// Serve answers one scrape of portal with its metrics, gathered afresh, and
// those of extra (the exporter's own metrics; nil for none). It always
// answers 200 with a valid exposition, whatever DocSpace does.
func Serve(w http.ResponseWriter, r *http.Request, portal *Portal, extra prometheus.Gatherer, opts HandlerOpts) {
	logger := opts.Logger
	timeout, err := ScrapeTimeout(r, portal.timeout, opts.TimeoutOffset)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	c := New(ctx, portal, logger)
	c.err = err
	families := gather(c)
	if extra != nil {
		own, err := extra.Gather()
		if err != nil {
			logger.Error("gathering the exporter's own metrics failed", "err", err)
		}
		families = append(families, own...)
		slices.SortFunc(families, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	}

	// The exposition is encoded whole and written at once, with its length:
	// a few KiB, which would otherwise go out chunked in several writes.
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	format := expfmt.NegotiateAccept(r.Header, acceptedFormats...)
	if err := encode(buf, format, families); err != nil {
		logger.Error("encoding the metrics failed", "err", err)
		http.Error(w, "encoding the metrics failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", string(format))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// encode writes families in format. Every metric name here is a valid
// legacy name, so the negotiated name escaping changes nothing and is
// skipped; the text format, which Prometheus asks for, is written directly
// (TestServeMatchesRegistry compares the result with promhttp's).
func encode(w io.Writer, format expfmt.Format, families []*dto.MetricFamily) error {
	if strings.HasPrefix(string(format), "text/plain") {
		for _, mf := range families {
			if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
				return err
			}
		}
		return nil
	}
	enc := expfmt.NewEncoder(w, format.WithEscapingScheme(model.NoEscaping))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		return closer.Close()
	}
	return nil
}

// buffers holds the buffers Serve encodes into.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Probe answers /probe?target=<name> with the metrics of the configured
// portal called name, and nothing else. lookup returns nil for an unknown
// name. A target that is not a configured name, in particular a URL, is
// refused: a portal's key is only ever sent to the URL configured for it.
func Probe(w http.ResponseWriter, r *http.Request, lookup func(name string) *Portal, opts HandlerOpts) {
	target := r.URL.Query().Get("target")
	if target == "" {
		http.Error(w, "missing target: use /probe?target=<portal name from the config file>", http.StatusBadRequest)
		return
	}
	portal := lookup(target)
	if portal == nil {
		reason := fmt.Sprintf("unknown target %q: not the name of a portal in the config file", truncate(target, 100))
		if strings.Contains(target, "/") || strings.Contains(target, ":") {
			reason = fmt.Sprintf("target %q is not a portal name: /probe takes the name of a configured portal, never a URL, so that a key is only sent where it was configured", truncate(target, 100))
		}
		http.Error(w, reason, http.StatusBadRequest)
		return
	}
	Serve(w, r, portal, nil, opts)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// gather makes one scrape of c and returns its samples as metric families
// sorted by name, their series sorted by labels: what a Registry makes of
// c.Collect, without its cost. Built and gathered per scrape, a Registry
// allocates 32 KiB of channel buffers and, with the const metrics in
// between, costs more than the DocSpace call itself (see bench_test.go).
// The goldens in collector_test.go check Collect through a Registry, and
// TestServeMatchesRegistry checks that both give the same exposition.
func gather(c *Collector) []*dto.MetricFamily {
	ss := c.collect()
	// Group the samples by family, in order of first appearance.
	var (
		of    = make([]*family, 0, len(familyOf))
		index = make([]int, len(ss)) // index[j] is the family of ss[j] in of
		count = make([]int, 0, len(familyOf))
	)
	for j := range ss {
		f := familyOf[ss[j].desc]
		i := slices.Index(of, f)
		if i < 0 {
			i = len(of)
			of = append(of, f)
			count = append(count, 0)
		}
		index[j] = i
		count[i]++
	}
	// One allocation each for the families, the metrics and the gauges.
	var (
		mfs      = make([]dto.MetricFamily, len(of))
		families = make([]*dto.MetricFamily, len(of))
		metrics  = make([]dto.Metric, len(ss))
		pointers = make([]*dto.Metric, len(ss))
		gauges   = make([]dto.Gauge, len(ss))
	)
	start := 0
	for i, f := range of {
		mf := &mfs[i]
		mf.Name, mf.Help, mf.Type = &f.name, &f.help, gaugeType
		mf.Metric = pointers[start : start : start+count[i]]
		families[i] = mf
		start += count[i]
	}
	for j := range ss {
		s := &ss[j]
		m := &metrics[j]
		gauges[j].Value = &s.value
		m.Gauge = &gauges[j]
		f := of[index[j]]
		for i := range s.labels {
			m.Label = append(m.Label, &dto.LabelPair{Name: &f.labels[i], Value: &s.labels[i]})
		}
		mf := families[index[j]]
		mf.Metric = append(mf.Metric, m)
	}
	slices.SortFunc(families, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, mf := range families {
		if len(mf.Metric) > 1 {
			slices.SortFunc(mf.Metric, func(a, b *dto.Metric) int { return compareLabels(a.GetLabel(), b.GetLabel()) })
		}
	}
	return families
}

func compareLabels(a, b []*dto.LabelPair) int {
	for i := range min(len(a), len(b)) {
		if c := strings.Compare(a[i].GetValue(), b[i].GetValue()); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}
