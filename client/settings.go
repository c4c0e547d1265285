package client

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// SettingsPath is the endpoint that returns the portal settings, among
// them the portal's time zone (only to authenticated callers).
const SettingsPath = "/api/2.0/settings"

// maxUTCOffset is the largest offset from UTC of any time zone.
const maxUTCOffset = 14 * time.Hour

type settingsDTO struct {
	Timezone  *string `json:"timezone"`
	UTCOffset *string `json:"utcOffset"`
}

// TimeZone is the portal's time zone as its settings tell it.
type TimeZone struct {
	// ID is the zone's id: an IANA id such as "Europe/Berlin", or, from a
	// DocSpace server on Windows without ICU, a Windows id such as
	// "W. Europe Standard Time". Empty when the settings have none.
	ID string
	// UTCOffset is the zone's offset from UTC when the settings were
	// read; valid when HasOffset is true.
	UTCOffset time.Duration
	HasOffset bool
}

// Timezone calls settings and returns the portal's time zone. The answer
// has one only when DocSpace accepts the key: without either the id or the
// offset, the error says so.
func (c *Client) Timezone(ctx context.Context) (TimeZone, error) {
	dto, err := get[settingsDTO](ctx, c, SettingsPath, "")
	if err != nil {
		return TimeZone{}, err
	}
	var tz TimeZone
	if dto != nil && dto.Timezone != nil {
		tz.ID = strings.TrimSpace(*dto.Timezone)
	}
	if dto != nil && dto.UTCOffset != nil {
		tz.UTCOffset, tz.HasOffset = parseTimeSpan(*dto.UTCOffset)
	}
	if tz.ID == "" && !tz.HasOffset {
		return TimeZone{}, &Error{Kind: KindUnauthorized, Endpoint: SettingsPath, StatusCode: 200,
			Detail: "the settings carry no time zone, which DocSpace sends only when it accepts the API key: " +
				"check that the key is valid (the backup calls then fail with HTTP 401), or give the portal's time zone"}
	}
	return tz, nil
}

// parseTimeSpan reads a time zone offset written as a .NET TimeSpan,
// "[-]hh:mm[:ss[.fffffff]]" (e.g. "05:30:00", "-03:00:00"). ok is false for
// anything else and for offsets beyond ±14 hours.
func parseTimeSpan(s string) (offset time.Duration, ok bool) {
	s = strings.TrimSpace(s)
	negative := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	s, _, _ = strings.Cut(s, ".") // fractions of a second do not matter
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	limits := []int{14, 59, 59}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 || strings.Trim(p, "0123456789") != "" {
			return 0, false
		}
		n, _ := strconv.Atoi(p)
		if n > limits[i] {
			return 0, false
		}
		offset += time.Duration(n) * units[i]
	}
	if offset > maxUTCOffset {
		return 0, false
	}
	if negative {
		offset = -offset
	}
	return offset, true
}
