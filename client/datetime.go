package client

import (
	"fmt"
	"strings"
	"time"
)

// Layouts DocSpace uses for a plain DateTime: MySQL-backed portals write UTC
// without an offset ("2026-06-29T02:07:31"), PostgreSQL-backed ones add "Z"
// and fractional seconds. Anything with an RFC 3339 offset is accepted too.
var (
	layoutsWithOffset    = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"}
	layoutsWithoutOffset = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} // UTC
)

// hasOffset reports whether a date and time ends in an offset: Z, or
// +hh:mm or -hh:mm after the time of day.
func hasOffset(s string) bool {
	if strings.HasSuffix(s, "Z") {
		return true
	}
	t := strings.LastIndexAny(s, "T ")
	return t >= 0 && strings.ContainsAny(s[t:], "+-")
}

// ParseDateTime parses a DocSpace DateTime such as lastBackupTime. A value
// without an offset is UTC. The zero time is returned for "never" or "none":
// DocSpace's DateTime.MinValue ("0001-01-01T00:00:00", any year <= 1) and
// DateTime.MaxValue ("9999-12-31T23:59:59.9999999", any year >= 9999), and
// PostgreSQL's "-infinity" and "infinity".
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "-infinity" || s == "infinity" {
		return time.Time{}, nil
	}
	layouts := layoutsWithoutOffset
	if hasOffset(s) {
		layouts = layoutsWithOffset
	}
	for _, layout := range layouts {
		t, err := time.ParseInLocation(layout, s, time.UTC)
		if err == nil {
			if t.Year() <= 1 || t.Year() >= 9999 {
				return time.Time{}, nil
			}
			return t.UTC(), nil
		}
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return time.Time{}, fmt.Errorf("%q is not a DocSpace date and time (expected e.g. 2026-06-29T02:07:31 or 2026-06-29T02:07:31.123456Z)", s)
}
