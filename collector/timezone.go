package collector

import (
	"fmt"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/windowszones"
)

// resolveZone turns the time zone of a portal's settings into a location:
// an IANA id as it is; a Windows id (from a DocSpace server on Windows
// without ICU) through CLDR's table; any other id as the fixed offset the
// settings give with it, which does not follow daylight saving time: fixed
// tells that.
func resolveZone(tz client.TimeZone) (loc *time.Location, fixed bool, err error) {
	// "Local" would be the exporter host's zone, not the portal's.
	if tz.ID != "" && tz.ID != "Local" {
		if loc, err := time.LoadLocation(tz.ID); err == nil {
			return loc, false, nil
		}
		if iana, ok := windowszones.IANA(tz.ID); ok {
			if loc, err := time.LoadLocation(iana); err == nil {
				return loc, false, nil
			}
		}
	}
	if !tz.HasOffset {
		return nil, false, fmt.Errorf("the portal's time zone %q is neither an IANA nor a Windows time zone known to this system, and the settings give no UTC offset", sanitize(tz.ID))
	}
	return time.FixedZone("UTC"+offsetText(tz.UTCOffset), int(tz.UTCOffset/time.Second)), true, nil
}

// offsetText writes an offset from UTC as +05:30 or -03:00.
func offsetText(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d/time.Hour), int(d%time.Hour/time.Minute))
}
