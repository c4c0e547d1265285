package collector

import (
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// "Local" in the portal's settings is not taken as the exporter host's
// zone: the offset the settings give is used, or none.
func TestResolveZoneLocal(t *testing.T) {
	loc, fixed, err := resolveZone(client.TimeZone{ID: "Local", UTCOffset: 3 * time.Hour, HasOffset: true})
	if err != nil || !fixed || loc.String() != "UTC+03:00" {
		t.Errorf("Local with an offset: %v, fixed %v, %v; want UTC+03:00, fixed", loc, fixed, err)
	}
	if loc, _, err := resolveZone(client.TimeZone{ID: "Local"}); err == nil {
		t.Errorf("Local without an offset: %v, want an error", loc)
	}
}
