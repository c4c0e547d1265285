package collector

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/windowszones"
)

// settingsPath returns the portal settings, among them the portal's time
// zone (only to authenticated callers). The schedule's next slot needs it.
const settingsPath = "/api/2.0/settings"

// Time zone refresh: a known zone is read again after an hour; after a
// failure with no zone known, the next try waits a few minutes.
const (
	timezoneRefresh = time.Hour
	timezoneRetry   = 5 * time.Minute
)

var settingsEndpoint = &endpoint{
	name: "settings", call: "settings", path: settingsPath,
	on: func(p *Portal) bool { return p.location == nil },
	off: func(p *Portal) (string, []any) {
		return "settings not called: the time zone is given in the portal's settings", []any{"timezone", p.location.String()}
	},
	fetch:   func(s *scrape) answer { return s.portal.memory.zone.get(s) },
	collect: collectPortal,
	cure:    func(s *scrape, a answer) string { return s.portal.memory.zone.cure(a) },
}

var (
	portalInfoDesc = desc("portal_info",
		"The DocSpace server's version and whether it is self-hosted (standalone) as labels, from the portal settings read with the time zone (hourly); always 1.", "version", "standalone")
	tenantStatusDesc = desc("portal_tenant_status",
		"The portal's state (tenantStatus) from its settings read with the time zone (hourly): 0 active, 1 suspended, 2 remove pending, 3 transferring, 4 restoring, 5 migrating, 6 encrypting. "+
			"While transferring, restoring or encrypting DocSpace answers the backup calls with HTTP 403.")
)

// collectPortal sends what the last settings read told of the portal.
func collectPortal(s *scrape, _ answer) {
	zm := &s.portal.memory.zone
	zm.mu.Lock()
	info, ok := zm.info, zm.hasInfo
	zm.mu.Unlock()
	if !ok {
		return
	}
	s.send(portalInfoDesc, 1, info.version, info.standalone)
	if info.hasStatus {
		s.send(tenantStatusDesc, float64(info.status))
	}
}

// location is the portal's time zone for this scrape, configured or read
// by the settings call; nil when unknown.
func (s *scrape) location() *time.Location {
	if s.portal.location != nil {
		return s.portal.location
	}
	loc, _ := s.answer(settingsEndpoint).value.(*time.Location)
	return loc
}

// maxUTCOffset is the largest offset from UTC of any time zone.
const maxUTCOffset = 14 * time.Hour

// portalSettings is the part of DocSpace's settings the exporter uses. The
// time zone fields come only to a caller whose key DocSpace accepts; the
// others to anyone.
type portalSettings struct {
	Timezone  *string `json:"timezone"`
	UTCOffset *string `json:"utcOffset"`
	// UTCHoursOffset is UTCOffset in hours (-8.5), which DocSpace adds so
	// that clients need not parse UTCOffset.
	UTCHoursOffset *float64 `json:"utcHoursOffset"`
	Version        *string  `json:"version"`
	Standalone     *bool    `json:"standalone"`
	TenantStatus   *int     `json:"tenantStatus"`
}

// portalInfo is what the settings tell of the portal besides its time zone.
type portalInfo struct {
	version, standalone string // label values; "unknown" when absent
	status              int    // tenantStatus, if hasStatus
	hasStatus           bool
}

// info reads the portalInfo of the settings.
func (dto *portalSettings) info() portalInfo {
	i := portalInfo{version: "unknown", standalone: "unknown"}
	if dto.Version != nil && strings.TrimSpace(*dto.Version) != "" {
		i.version = sanitize(strings.TrimSpace(*dto.Version))
		if r := []rune(i.version); len(r) > 64 {
			i.version = string(r[:64]) + "…"
		}
	}
	if dto.Standalone != nil {
		i.standalone = strconv.FormatBool(*dto.Standalone)
	}
	if dto.TenantStatus != nil {
		i.status, i.hasStatus = *dto.TenantStatus, true
	}
	return i
}

// timeZone is the portal's time zone as its settings tell it.
type timeZone struct {
	// id is an IANA id, or a Windows one ("W. Europe Standard Time") from a
	// DocSpace server on Windows without ICU; "" when the settings have none.
	id        string
	offset    time.Duration // from UTC when the settings were read, if hasOffset
	hasOffset bool
	// info is the rest of the settings, if hasInfo: also of an answer
	// without a time zone.
	info    portalInfo
	hasInfo bool
}

// errNoTimeZone is the cause of a settings answer without a usable time
// zone: DocSpace leaves it out for a key it rejects, so the scrape blames
// the key when a backup call with it gets HTTP 401 (see groupFailures).
var errNoTimeZone = errors.New("the settings carry no time zone and no UTC offset")

// fetchTimezone reads the portal's time zone, which the settings carry only
// when DocSpace accepts the key.
func fetchTimezone(s *scrape) (timeZone, error) {
	dto, err := client.Get[portalSettings](s.ctx, s.portal.client, settingsPath, "")
	if err != nil {
		return timeZone{}, err
	}
	var tz timeZone
	if dto == nil {
		dto = &portalSettings{}
	} else {
		tz.info, tz.hasInfo = dto.info(), true
	}
	if dto.Timezone != nil {
		tz.id = strings.TrimSpace(*dto.Timezone)
	}
	if dto.UTCOffset != nil {
		tz.offset, tz.hasOffset = parseTimeSpan(*dto.UTCOffset)
	}
	if h := dto.UTCHoursOffset; !tz.hasOffset && h != nil && math.Abs(*h) <= maxUTCOffset.Hours() {
		// A utcOffset that is not a TimeSpan ("-8.5"): its hours, to the minute.
		tz.offset, tz.hasOffset = time.Duration(math.Round(*h*60))*time.Minute, true
	}
	if tz.id == "" && !tz.hasOffset {
		return tz, &client.Error{Kind: client.KindMalformed, Endpoint: settingsPath, StatusCode: 200,
			Detail: "the settings answer has no time zone: DocSpace sends it only when it accepts the API key", Err: errNoTimeZone}
	}
	return tz, nil
}

// timeSpan is a time zone offset written as a .NET TimeSpan,
// "[-]hh:mm[:ss[.fffffff]]" (e.g. "05:30:00", "-03:00:00").
var timeSpan = regexp.MustCompile(`(?s)^(-?)(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\..*)?$`)

// parseTimeSpan reads a timeSpan; ok is false for anything else and for
// offsets beyond ±14 hours.
func parseTimeSpan(s string) (offset time.Duration, ok bool) {
	m := timeSpan.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[2])
	minutes, _ := strconv.Atoi(m[3])
	seconds, _ := strconv.Atoi(m[4]) // 0 when absent
	offset = time.Duration(h)*time.Hour + time.Duration(minutes)*time.Minute + time.Duration(seconds)*time.Second
	if minutes > 59 || seconds > 59 || offset > maxUTCOffset {
		return 0, false
	}
	if m[1] == "-" {
		offset = -offset
	}
	return offset, true
}

// zoneMemory is the portal's time zone read from its settings.
type zoneMemory struct {
	mu       sync.Mutex
	location *time.Location
	next     time.Time // when to read the settings again
	lastErr  error
	// info is what the last settings answer told of the portal, if hasInfo.
	info    portalInfo
	hasInfo bool
}

// cure makes the next scrape read the settings when a is the remembered
// failure of a read without a known zone, of a kind a fix cures.
func (zm *zoneMemory) cure(a answer) string {
	zm.mu.Lock()
	defer zm.mu.Unlock()
	if a.note == "" || zm.location != nil || !curable(zm.lastErr) && !errors.Is(zm.lastErr, errNoTimeZone) {
		return ""
	}
	zm.next, zm.lastErr = time.Time{}, nil
	return "settings not called: its last call failed before the portal worked again, so the next scrape reads them"
}

// get returns the portal's time zone, reading the settings when the known
// one is missing or an hour old; a failed refresh keeps a known zone. The
// lock is not held during the call: the client shares it among scrapes.
// known is the time zone last read from the portal's settings, however
// old; nil if none was.
func (zm *zoneMemory) known() *time.Location {
	zm.mu.Lock()
	defer zm.mu.Unlock()
	return zm.location
}

func (zm *zoneMemory) get(s *scrape) answer {
	m := s.portal.memory
	now := m.now()
	zm.mu.Lock()
	if now.Before(zm.next) {
		defer zm.mu.Unlock()
		a := answer{value: zm.location, err: zm.lastErr, failed: zm.location == nil}
		switch {
		case zm.location != nil:
			a.note, a.attrs = "settings not called: the time zone read from the portal within the hour is used", []any{"timezone", zm.location.String()}
		default:
			a.note, a.attrs = "settings not called: the last call failed less than "+timezoneRetry.String()+" ago, so the time zone is unknown", []any{"err", zm.lastErr}
		}
		return a
	}
	zm.mu.Unlock()
	var (
		tz    timeZone
		fixed bool
	)
	res := timed(func() (loc *time.Location, err error) {
		tz, err = fetchTimezone(s)
		if err != nil {
			return nil, err
		}
		loc, fixed, err = resolveZone(tz)
		return loc, err
	})
	zm.mu.Lock()
	defer zm.mu.Unlock()
	if tz.hasInfo {
		zm.info, zm.hasInfo = tz.info, true
	}
	why := "" // the read's cause of failure, for the log
	if res.err != nil {
		why = cause(groupFailures([]failure{{call: "settings", err: res.err}}))
	}
	if res.err != nil && zm.location != nil {
		why += ", known zone kept"
	}
	// Without a known zone, a failed read is one of the scrape's failed
	// calls, logged with the others; with one, it is logged here.
	news, was := m.observe(subjectZoneRead, why, true)
	if news == recovered && strings.HasSuffix(was.cause, ", known zone kept") {
		s.log().Info("read the portal time zone again", "timezone", res.value.(*time.Location).String())
	}
	switch {
	case res.err == nil:
		loc := res.value.(*time.Location)
		zm.location, zm.lastErr, zm.next = loc, nil, now.Add(timezoneRefresh)
		// A zone replaced by its UTC offset is logged once, not hourly.
		replaced := ""
		if fixed {
			replaced = fmt.Sprintf("%q %s", tz.id, offsetText(tz.offset))
		}
		if n, _ := m.observe(subjectFixedZone, replaced, false); n == failing {
			s.log().Warn("the portal's time zone is unknown to this system, so its UTC offset is used, which does not follow daylight saving time; give the portal's time zone in the exporter's settings",
				"timezone", sanitize(tz.id), "utc_offset", offsetText(tz.offset))
		}
	case zm.location != nil:
		if news == failing || news == stillFailing {
			s.log().Warn("reading the portal time zone failed; keeping the known one", "timezone", zm.location.String(), "err", res.err)
		}
		res.value, res.failed, zm.next = zm.location, false, now.Add(timezoneRetry)
	default:
		zm.lastErr, zm.next = res.err, now.Add(timezoneRetry)
	}
	return res
}

// resolveZone turns the time zone of a portal's settings into a location:
// an IANA id as it is; a Windows id (from a DocSpace server on Windows
// without ICU) through CLDR's table; any other id as the fixed offset the
// settings give with it, which does not follow daylight saving time: fixed
// tells that.
func resolveZone(tz timeZone) (loc *time.Location, fixed bool, err error) {
	// "Local" would be the exporter host's zone, not the portal's.
	if tz.id != "" && tz.id != "Local" {
		if loc, err := time.LoadLocation(tz.id); err == nil {
			return loc, false, nil
		}
		if iana, ok := windowszones.IANA(tz.id); ok {
			if loc, err := time.LoadLocation(iana); err == nil {
				return loc, false, nil
			}
		}
	}
	if !tz.hasOffset {
		return nil, false, fmt.Errorf("the portal's time zone %q is neither an IANA nor a Windows time zone known to this system, and the settings give no UTC offset", sanitize(tz.id))
	}
	return time.FixedZone("UTC"+offsetText(tz.offset), int(tz.offset/time.Second)), true, nil
}

// offsetText writes an offset from UTC as +05:30 or -03:00.
func offsetText(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d/time.Hour), int(d%time.Hour/time.Minute))
}
