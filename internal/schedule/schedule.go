// Package schedule computes when ONLYOFFICE DocSpace's backup scheduler next
// starts a scheduled backup.
//
// It mirrors DocSpace's Schedule.IsToBeProcessedAsync: the schedule's cron
// parameters are matched against wall-clock values in the portal's time zone,
// starting strictly after the last backup (or after a quirky reference time for
// a schedule that never ran). The wall-clock slot is then turned into a real
// instant: a slot skipped by a daylight-saving gap is due at the end of the
// gap, and a slot that occurs twice is due at its first occurrence, which is
// when DocSpace's wall-clock comparison first finds it due.
//
// DocSpace's worker only checks schedules periodically (every 15 minutes by
// default), so a backup actually starts up to one check period after the slot.
package schedule

import (
	"fmt"
	"time"
)

// Period is a schedule's cronParams.period: how often the backup runs.
type Period int

// The periods DocSpace knows, as it writes them in JSON.
const (
	// Daily runs every day at Hour.
	Daily Period = 0
	// Weekly runs once a week, on weekday Day, at Hour.
	Weekly Period = 1
	// Monthly runs once a month, on day-of-month Day, at Hour.
	Monthly Period = 2
)

// Cron is a schedule's cronParams.
//
// Hour is the hour of the day (0–23) in the portal's time zone; the backup is
// due at Hour:00:00 wall-clock time. Day is ignored for Daily (DocSpace sends
// 0), is the weekday for Weekly with 1 = Sunday … 7 = Saturday (Quartz
// numbering, Go's time.Weekday + 1), and is the day of the month (1–31) for
// Monthly. Monthly schedules skip months that lack that day.
type Cron struct {
	Period Period
	Hour   int
	Day    int
}

// Validate reports whether c is a schedule DocSpace can store: Period 0–2,
// Hour 0–23, Day 1–7 for Weekly and 1–31 for Monthly. Day is not checked for
// Daily schedules.
func (c Cron) Validate() error {
	switch c.Period {
	case Daily, Weekly, Monthly:
	default:
		return fmt.Errorf("schedule: invalid period %d: want 0 (daily), 1 (weekly) or 2 (monthly)", int(c.Period))
	}
	if c.Hour < 0 || c.Hour > 23 {
		return fmt.Errorf("schedule: invalid hour %d: want 0-23", c.Hour)
	}
	switch {
	case c.Period == Weekly && (c.Day < 1 || c.Day > 7):
		return fmt.Errorf("schedule: invalid day %d for a weekly schedule: want 1-7 (1 = Sunday, 7 = Saturday)", c.Day)
	case c.Period == Monthly && (c.Day < 1 || c.Day > 31):
		return fmt.Errorf("schedule: invalid day %d for a monthly schedule: want 1-31", c.Day)
	}
	return nil
}

// Next returns the instant of the next slot at which DocSpace's scheduler
// starts a backup, and the interval between that slot and the slot before it.
//
// lastBackup is the schedule's lastBackupTime as a UTC instant. The zero
// time.Time, or any time in year 1 or earlier, means the schedule never ran;
// only then is now used: DocSpace then searches from the UTC date of now at
// 00:00:00 minus one second, read as a wall-clock time in loc (a DocSpace
// quirk). The returned slot may then already be in the past, which means the
// backup is overdue and starts at the scheduler's next check.
//
// loc is the portal's time zone; nil means UTC. The next slot is the first
// wall-clock time in loc strictly after the last backup's wall-clock time with
// minute and second 0, hour c.Hour and a matching weekday or day of month. A
// slot that does not exist locally (skipped by a daylight-saving gap) is due at
// the first instant after the gap; a slot that exists twice is due at its
// first occurrence.
//
// interval is the real time elapsed between the previous slot and next, both
// resolved the same way, so it is not always a whole number of days: across a
// daylight-saving change a daily interval is, for example, 23 or 25 hours.
//
// Next returns an error if c is invalid, or if the slot cannot be resolved in
// loc, which does not happen with real time zones.
func Next(c Cron, lastBackup, now time.Time, loc *time.Location) (next time.Time, interval time.Duration, err error) {
	if err := c.Validate(); err != nil {
		return time.Time{}, 0, err
	}
	if loc == nil {
		loc = time.UTC
	}

	var base time.Time
	if lastBackup.UTC().Year() <= 1 {
		y, m, d := now.UTC().Date()
		base = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(-time.Second)
	} else {
		base = wallClock(lastBackup.In(loc))
	}

	nextWall, err := c.slotAfter(base)
	if err != nil {
		return time.Time{}, 0, err
	}
	prevWall, err := c.slotBefore(nextWall)
	if err != nil {
		return time.Time{}, 0, err
	}
	next, err = instant(nextWall, loc)
	if err != nil {
		return time.Time{}, 0, err
	}
	prev, err := instant(prevWall, loc)
	if err != nil {
		return time.Time{}, 0, err
	}
	return next, next.Sub(prev), nil
}

// Wall-clock values are handled as time.Time values in UTC whose fields are
// the local fields; that keeps the calendar arithmetic free of DST effects.

// wallClock returns t's wall-clock fields in t's location as a UTC value.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// maxSearchDays bounds the day-by-day slot search. The longest gap between
// two slots is 61 days, for a monthly schedule on day 31 that skips a 30-day
// month (March to May, May to July, August to October, October to December);
// the search also looks at the starting day itself.
const maxSearchDays = 64

// matchesDay reports whether the wall-clock date of wall is a day on which c
// runs.
func (c Cron) matchesDay(wall time.Time) bool {
	switch c.Period {
	case Weekly:
		return int(wall.Weekday())+1 == c.Day
	case Monthly:
		return wall.Day() == c.Day
	default:
		return true
	}
}

// slotAfter returns the first wall-clock slot of c strictly after wall.
func (c Cron) slotAfter(wall time.Time) (time.Time, error) { return c.slotBeyond(wall, 1) }

// slotBefore returns the last wall-clock slot of c strictly before wall.
func (c Cron) slotBefore(wall time.Time) (time.Time, error) { return c.slotBeyond(wall, -1) }

// slotBeyond steps day by day from wall's date, forward (step 1) or
// backward (step -1), to the first slot of c strictly beyond wall.
func (c Cron) slotBeyond(wall time.Time, step int) (time.Time, error) {
	y, m, d := wall.Date()
	slot := time.Date(y, m, d, c.Hour, 0, 0, 0, time.UTC)
	for range maxSearchDays {
		beyond := slot.After(wall)
		if step < 0 {
			beyond = slot.Before(wall)
		}
		if beyond && c.matchesDay(slot) {
			return slot, nil
		}
		slot = slot.AddDate(0, 0, step)
	}
	return time.Time{}, fmt.Errorf("schedule: no slot for %+v within %d days of %s", c, maxSearchDays, wall.Format(time.DateTime))
}

// zoneWindow is how far on either side of a wall-clock time (read as UTC)
// instant looks for offset changes. It exceeds every UTC offset in use, so
// every instant that shows the wall-clock time lies inside the window.
const zoneWindow = 26 * time.Hour

// instant returns the instant at which loc's clocks first show the wall-clock
// time wall (a UTC value holding local fields). If loc's clocks skip wall, it
// returns the instant at which they skip it: the first instant whose
// wall-clock time is later than wall.
//
// time.Date is not used for this because its choice for skipped and repeated
// times is unspecified (for a repeated time it may pick the second
// occurrence) and for a skipped time it does not return the end of the gap
// when the gap is not one hour long. Time.ZoneBounds is not used either: for
// years past a zone's last explicit transition it can report a period that
// ends before the instant asked about (golang/go#81583).
//
// instant assumes that loc changes its UTC offset at most once within
// zoneWindow of wall; real zones change it months apart. It returns an error
// when that assumption visibly fails.
func instant(wall time.Time, loc *time.Location) (time.Time, error) {
	before := offset(wall.Add(-zoneWindow), loc)
	after := offset(wall.Add(zoneWindow), loc)

	// With one offset change at most, every instant showing wall is wall
	// minus the offset before or after the change. For a repeated time
	// (before > after), wall minus before is the earlier occurrence.
	for _, off := range []time.Duration{before, after} {
		if t := wall.Add(-off); offset(t, loc) == off {
			return t.In(loc), nil
		}
	}

	// wall is skipped: the clocks jump from wall-clock times before it to
	// times after it at one instant between lo and hi. Bisect for it.
	lo, hi := wall.Add(-after), wall.Add(-before)
	if !lo.Before(hi) || !localWall(lo, loc).Before(wall) || !localWall(hi, loc).After(wall) {
		return time.Time{}, fmt.Errorf("schedule: cannot resolve wall-clock time %s in time zone %s", wall.Format(time.DateTime), loc)
	}
	// Invariant: lo shows a time before wall, hi a time after it.
	for hi.Sub(lo) > time.Nanosecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if localWall(mid, loc).After(wall) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi.In(loc), nil
}

// offset returns loc's UTC offset at instant t.
func offset(t time.Time, loc *time.Location) time.Duration {
	_, seconds := t.In(loc).Zone()
	return time.Duration(seconds) * time.Second
}

// localWall returns the wall-clock time loc shows at instant t, as a UTC
// value.
func localWall(t time.Time, loc *time.Location) time.Time {
	return wallClock(t.In(loc))
}
