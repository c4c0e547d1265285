package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"time"
)

// targetGroup is one entry of the answer of Prometheus' HTTP service
// discovery (http_sd_configs).
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// discoveryLabels returns the labels of the target of portal name, so that
// Prometheus scrapes /probe?target=<name> as instance=<name> without
// relabelling. url, a meta label, holds no user info or query (the
// settings' checks refuse them).
func discoveryLabels(name, url string, labels map[string]string) map[string]string {
	l := make(map[string]string, len(labels)+4)
	maps.Copy(l, labels)
	l["__metrics_path__"] = "/probe"
	l["__param_target"] = name
	l["instance"] = name
	l["__meta_docspace_url"] = url
	return l
}

// discovery answers Prometheus' HTTP service discovery with one target per
// portal of the fleet current returns: the exporter itself, at the address
// the request was sent to. Each answer is made from one fleet, so a reload
// never shows half a configuration; its ETag lets If-None-Match get 304.
func discovery(current func() *fleet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "" {
			http.Error(w, "the request has no Host header: the targets are the address Prometheus reaches the exporter at", http.StatusBadRequest)
			return
		}
		f := current()
		groups := make([]targetGroup, 0, len(f.portals))
		for _, portal := range f.portals {
			p := portal.Config()
			groups = append(groups, targetGroup{
				Targets: []string{r.Host},
				Labels:  discoveryLabels(p.Name, redactedURL(p.URL), p.Labels),
			})
		}
		body, err := json.Marshal(groups)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}
