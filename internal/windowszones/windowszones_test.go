package windowszones

import (
	"testing"
	"time"
	_ "time/tzdata" // the exporter embeds Go's zone database too
)

func TestIANA(t *testing.T) {
	for id, want := range map[string]string{
		"W. Europe Standard Time":        "Europe/Berlin",
		"India Standard Time":            "Asia/Calcutta",
		"Eastern Standard Time":          "America/New_York",
		"UTC":                            "Etc/UTC",
		"Russian Standard Time":          "Europe/Moscow",
		"AUS Eastern Standard Time":      "Australia/Sydney",
		"Pacific SA Standard Time":       "America/Santiago",
		"Romance Standard Time":          "Europe/Paris",
		"Tokyo Standard Time":            "Asia/Tokyo",
		"E. South America Standard Time": "America/Sao_Paulo",
	} {
		if got, ok := IANA(id); !ok || got != want {
			t.Errorf("IANA(%q) = %q, %v; want %q", id, got, ok, want)
		}
	}
	for _, id := range []string{"Europe/Berlin", "", "w. europe standard time", "Mars Standard Time"} {
		if got, ok := IANA(id); ok {
			t.Errorf("IANA(%q) = %q; want no zone", id, got)
		}
	}
}

// Every zone of the table is one Go knows.
func TestZonesLoad(t *testing.T) {
	if len(zones) < 100 {
		t.Fatalf("the table has %d zones", len(zones))
	}
	for id, zone := range zones {
		if _, err := time.LoadLocation(zone); err != nil {
			t.Errorf("%q maps to %q: %v", id, zone, err)
		}
	}
}
