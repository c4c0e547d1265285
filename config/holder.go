package config

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Holder keeps the configuration file's current content, as the value build
// makes of it (e.g. one client per portal). Reload reads the file again and
// swaps the new value in only when the file is valid and build succeeds, so a
// bad edit never replaces a working configuration.
//
// A Holder is a prometheus.Collector of
// docspace_exporter_config_last_reload_successful and
// docspace_exporter_config_last_reload_success_timestamp_seconds.
type Holder[T any] struct {
	path  string
	build func(*Config) (T, error)
	now   func() time.Time

	reloading sync.Mutex // held while a reload runs, so the calls of build never overlap

	queue sync.Mutex
	next  *reload // the reload to run next, joined by the requests arriving meanwhile

	mu    sync.RWMutex
	value T

	// OnLoad, when set, is told the outcome of each load that a Reload
	// runs, once, however many requests share it: the place to log it.
	OnLoad func(error)

	success, successTime prometheus.Gauge
}

// NewHolder loads the configuration file at path and builds its value; it
// fails when either fails. build's errors should say where in the file the
// problem is (Portal.Errorf). build is called with every valid configuration
// loaded, never concurrently, so it may carry over what the current value
// holds (e.g. what is remembered of each portal).
func NewHolder[T any](path string, build func(*Config) (T, error)) (*Holder[T], error) {
	h := &Holder[T]{path: path, build: build, now: time.Now,
		success: prometheus.NewGauge(prometheus.GaugeOpts{Name: "docspace_exporter_config_last_reload_successful",
			Help: "Whether the last load of the configuration file succeeded (1) or failed (0); after a failure the previous configuration stays in use."}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "docspace_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful load of the configuration file, in seconds since the Unix epoch."}),
	}
	if err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// reload is one reload of the file and the requests waiting for it.
type reload struct {
	done    chan struct{} // closed when err is set
	err     error
	waiting int // requests that joined it; guarded by Holder.queue
}

// Reload loads the configuration file again. When the file is invalid or
// build fails, it returns the error and the current value stays in use.
//
// Concurrent requests share reloads: a request that arrives while a reload
// runs waits for the next one, which starts when the running one ends and
// serves every request that arrived before it started. So a request never
// gets the result of a reload that began before it (the file may have
// changed since), and a storm of requests costs at most two reloads.
func (h *Holder[T]) Reload() error {
	h.queue.Lock()
	r := h.next
	if r != nil {
		r.waiting++
		h.queue.Unlock()
		<-r.done
		return r.err
	}
	r = &reload{done: make(chan struct{}), waiting: 1}
	h.next = r
	h.queue.Unlock()

	h.reloading.Lock()
	defer h.reloading.Unlock()
	h.queue.Lock()
	h.next = nil // requests from now on wait for the reload after this one
	h.queue.Unlock()
	r.err = h.load()
	if h.OnLoad != nil {
		h.OnLoad(r.err)
	}
	close(r.done)
	return r.err
}

// load reads the file and swaps in the value built from it.
func (h *Holder[T]) load() error {
	cfg, err := Load(h.path)
	var value T
	if err == nil {
		value, err = h.build(cfg)
	}

	if err != nil {
		h.success.Set(0)
		return err
	}
	h.mu.Lock()
	h.value = value
	h.mu.Unlock()
	h.success.Set(1)
	h.successTime.Set(float64(h.now().UnixNano()) / 1e9)
	return nil
}

// Current returns the value built from the last valid configuration.
func (h *Holder[T]) Current() T {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.value
}

// Describe implements prometheus.Collector.
func (h *Holder[T]) Describe(ch chan<- *prometheus.Desc) {
	h.success.Describe(ch)
	h.successTime.Describe(ch)
}

// Collect implements prometheus.Collector.
func (h *Holder[T]) Collect(ch chan<- prometheus.Metric) {
	h.success.Collect(ch)
	h.successTime.Collect(ch)
}
