package schedule

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine
)

const day = 24 * time.Hour

func mustParse(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %q: %v", name, err)
	}
	return loc
}

// nextCase is one worked-out example. last is the schedule's lastBackupTime
// ("" = never run); now is only read for never-run schedules. want and
// interval were computed by hand, not by the code under test.
type nextCase struct {
	name     string
	cron     Cron
	zone     string
	last     string
	now      string
	want     string
	interval time.Duration
}

func runNextCases(t *testing.T, cases []nextCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustZone(t, tc.zone)
			var last, now time.Time
			if tc.last != "" {
				last = mustParse(t, tc.last)
			}
			if tc.now != "" {
				now = mustParse(t, tc.now)
			}
			want := mustParse(t, tc.want)

			got, interval, err := Next(tc.cron, last, now, loc)
			if err != nil {
				t.Fatalf("Next(%+v, %s, %s, %s): %v", tc.cron, tc.last, tc.now, tc.zone, err)
			}
			if !got.Equal(want) {
				t.Errorf("next = %s (%s), want %s (%s)", got.Format(time.RFC3339), got.UTC().Format(time.RFC3339), want.Format(time.RFC3339), want.UTC().Format(time.RFC3339))
			}
			if got.Location() != loc {
				t.Errorf("next is in location %s, want %s", got.Location(), loc)
			}
			if interval != tc.interval {
				t.Errorf("interval = %s, want %s", interval, tc.interval)
			}
		})
	}
}

func TestNextDaily(t *testing.T) {
	daily2 := Cron{Period: Daily, Hour: 2}
	runNextCases(t, []nextCase{
		{"utc started late", daily2, "UTC", "2026-07-05T02:07:31Z", "", "2026-07-06T02:00:00Z", day},
		{"utc hour 0", Cron{Period: Daily, Hour: 0}, "UTC", "2026-07-05T00:07:31Z", "", "2026-07-06T00:00:00Z", day},
		{"utc hour 23 same day", Cron{Period: Daily, Hour: 23}, "UTC", "2026-07-05T02:07:31Z", "", "2026-07-05T23:00:00Z", day},
		{"utc year end", Cron{Period: Daily, Hour: 23}, "UTC", "2026-12-31T23:05:00Z", "", "2027-01-01T23:00:00Z", day},
		{"day ignored for daily", Cron{Period: Daily, Hour: 2, Day: 5}, "UTC", "2026-07-05T02:07:31Z", "", "2026-07-06T02:00:00Z", day},
		// 02:07:31 CEST: started late within the 15-minute tick, so the next run is tomorrow.
		{"berlin started late", daily2, "Europe/Berlin", "2026-07-05T00:07:31Z", "", "2026-07-06T02:00:00+02:00", day},
		// 01:59:59 CEST: the slot one second later is still ahead.
		{"berlin just before slot", daily2, "Europe/Berlin", "2026-07-04T23:59:59Z", "", "2026-07-05T02:00:00+02:00", day},
		{"berlin just before slot fractional", daily2, "Europe/Berlin", "2026-07-04T23:59:59.5Z", "", "2026-07-05T02:00:00+02:00", day},
		// 02:00:00 CEST exactly: the slot must be strictly after, so tomorrow.
		{"berlin exactly at slot", daily2, "Europe/Berlin", "2026-07-05T00:00:00Z", "", "2026-07-06T02:00:00+02:00", day},
		{"berlin just after slot", daily2, "Europe/Berlin", "2026-07-05T00:00:00.000001Z", "", "2026-07-06T02:00:00+02:00", day},
		// The last backup is given in another zone; only the instant matters.
		{"last in another zone", daily2, "Europe/Berlin", "2026-07-05T09:07:31+09:00", "", "2026-07-06T02:00:00+02:00", day},
		// Japan has no DST: 00:00 JST is 15:00Z the day before.
		{"tokyo exactly at slot", Cron{Period: Daily, Hour: 0}, "Asia/Tokyo", "2026-07-04T15:00:00Z", "", "2026-07-06T00:00:00+09:00", day},
		{"tokyo winter", Cron{Period: Daily, Hour: 0}, "Asia/Tokyo", "2026-01-10T16:00:00Z", "", "2026-01-12T00:00:00+09:00", day},
		// India is UTC+05:30: 02:05 IST is 20:35Z the day before.
		{"kolkata started late", daily2, "Asia/Kolkata", "2026-07-04T20:35:00Z", "", "2026-07-06T02:00:00+05:30", day},
		{"kolkata just before slot", daily2, "Asia/Kolkata", "2026-07-04T20:29:59Z", "", "2026-07-05T02:00:00+05:30", day},
	})
}

func TestNextWeekly(t *testing.T) {
	// 2026-07-01 is a Wednesday; the base is after that day's 02:00.
	const last = "2026-07-01T12:00:00Z"
	runNextCases(t, []nextCase{
		{"day 1 sunday", Cron{Period: Weekly, Hour: 2, Day: 1}, "UTC", last, "", "2026-07-05T02:00:00Z", 7 * day},
		{"day 2 monday", Cron{Period: Weekly, Hour: 2, Day: 2}, "UTC", last, "", "2026-07-06T02:00:00Z", 7 * day},
		{"day 3 tuesday", Cron{Period: Weekly, Hour: 2, Day: 3}, "UTC", last, "", "2026-07-07T02:00:00Z", 7 * day},
		{"day 4 wednesday, slot passed", Cron{Period: Weekly, Hour: 2, Day: 4}, "UTC", last, "", "2026-07-08T02:00:00Z", 7 * day},
		{"day 4 wednesday, slot ahead", Cron{Period: Weekly, Hour: 13, Day: 4}, "UTC", last, "", "2026-07-01T13:00:00Z", 7 * day},
		{"day 5 thursday", Cron{Period: Weekly, Hour: 2, Day: 5}, "UTC", last, "", "2026-07-02T02:00:00Z", 7 * day},
		{"day 6 friday", Cron{Period: Weekly, Hour: 2, Day: 6}, "UTC", last, "", "2026-07-03T02:00:00Z", 7 * day},
		{"day 7 saturday", Cron{Period: Weekly, Hour: 2, Day: 7}, "UTC", last, "", "2026-07-04T02:00:00Z", 7 * day},
		{"monday in berlin", Cron{Period: Weekly, Hour: 2, Day: 2}, "Europe/Berlin", last, "", "2026-07-06T02:00:00+02:00", 7 * day},
		// 2026-03-29 is a Sunday and 02:00 does not exist in Berlin; the week
		// before, 02:00 CET was 01:00Z, so the interval is exactly 7 days.
		{"sunday on berlin dst gap", Cron{Period: Weekly, Hour: 2, Day: 1}, "Europe/Berlin", "2026-03-22T01:00:00Z", "", "2026-03-29T03:00:00+02:00", 7 * day},
		{"sunday after berlin dst gap", Cron{Period: Weekly, Hour: 2, Day: 1}, "Europe/Berlin", "2026-03-29T01:05:00Z", "", "2026-04-05T02:00:00+02:00", 7*day - time.Hour},
	})
}

func TestNextMonthly(t *testing.T) {
	monthly := func(d int) Cron { return Cron{Period: Monthly, Hour: 2, Day: d} }
	runNextCases(t, []nextCase{
		// From after the 02:00 slot on 31 January of a non-leap year.
		{"2027 day 1", monthly(1), "UTC", "2027-01-31T03:00:00Z", "", "2027-02-01T02:00:00Z", 31 * day},
		{"2027 day 15", monthly(15), "UTC", "2027-01-31T03:00:00Z", "", "2027-02-15T02:00:00Z", 31 * day},
		{"2027 day 28", monthly(28), "UTC", "2027-01-31T03:00:00Z", "", "2027-02-28T02:00:00Z", 31 * day},
		{"2027 day 29 skips february", monthly(29), "UTC", "2027-01-31T03:00:00Z", "", "2027-03-29T02:00:00Z", 59 * day},
		{"2027 day 30 skips february", monthly(30), "UTC", "2027-01-31T03:00:00Z", "", "2027-03-30T02:00:00Z", 59 * day},
		{"2027 day 31 skips february", monthly(31), "UTC", "2027-01-31T03:00:00Z", "", "2027-03-31T02:00:00Z", 59 * day},
		// The same in the leap year 2028.
		{"2028 day 1", monthly(1), "UTC", "2028-01-31T03:00:00Z", "", "2028-02-01T02:00:00Z", 31 * day},
		{"2028 day 15", monthly(15), "UTC", "2028-01-31T03:00:00Z", "", "2028-02-15T02:00:00Z", 31 * day},
		{"2028 day 28", monthly(28), "UTC", "2028-01-31T03:00:00Z", "", "2028-02-28T02:00:00Z", 31 * day},
		{"2028 day 29 hits leap day", monthly(29), "UTC", "2028-01-31T03:00:00Z", "", "2028-02-29T02:00:00Z", 31 * day},
		{"2028 day 30 skips february", monthly(30), "UTC", "2028-01-31T03:00:00Z", "", "2028-03-30T02:00:00Z", 60 * day},
		{"2028 day 31 skips february", monthly(31), "UTC", "2028-01-31T03:00:00Z", "", "2028-03-31T02:00:00Z", 60 * day},
		// Intervals that span February.
		{"2027 day 1 after february", monthly(1), "UTC", "2027-02-10T00:00:00Z", "", "2027-03-01T02:00:00Z", 28 * day},
		{"2028 day 1 after february", monthly(1), "UTC", "2028-02-10T00:00:00Z", "", "2028-03-01T02:00:00Z", 29 * day},
		{"2027 day 15 after february", monthly(15), "UTC", "2027-02-20T00:00:00Z", "", "2027-03-15T02:00:00Z", 28 * day},
		{"2028 day 15 after february", monthly(15), "UTC", "2028-02-20T00:00:00Z", "", "2028-03-15T02:00:00Z", 29 * day},
		{"2028 day 29 from leap day", monthly(29), "UTC", "2028-02-29T02:00:00Z", "", "2028-03-29T02:00:00Z", 29 * day},
		// Day 31 skips April: the longest possible gap.
		{"day 31 skips april", monthly(31), "UTC", "2027-03-31T02:07:31Z", "", "2027-05-31T02:00:00Z", 61 * day},
		{"day 31 across new year", monthly(31), "UTC", "2027-12-31T05:00:00Z", "", "2028-01-31T02:00:00Z", 31 * day},
		{"day 31 before slot", monthly(31), "UTC", "2027-01-31T01:59:59Z", "", "2027-01-31T02:00:00Z", 31 * day},
		// 00:00 JST on 31 January is 15:00Z on 30 January.
		{"tokyo day 31", Cron{Period: Monthly, Hour: 0, Day: 31}, "Asia/Tokyo", "2027-01-30T15:00:00Z", "", "2027-03-31T00:00:00+09:00", 59 * day},
	})
}

func TestNextNeverRun(t *testing.T) {
	daily2 := Cron{Period: Daily, Hour: 2}
	runNextCases(t, []nextCase{
		// DocSpace searches from yesterday 23:59:59 (UTC date), so today's
		// slot is next even when it has already passed: overdue.
		{"utc before today's hour", daily2, "UTC", "", "2026-07-05T01:00:00Z", "2026-07-05T02:00:00Z", day},
		{"utc after today's hour is overdue", daily2, "UTC", "", "2026-07-05T10:00:00Z", "2026-07-05T02:00:00Z", day},
		{"utc hour 0", Cron{Period: Daily, Hour: 0}, "UTC", "", "2026-07-05T10:00:00Z", "2026-07-05T00:00:00Z", day},
		{"explicit year 1", daily2, "UTC", "0001-01-01T00:00:00Z", "2026-07-05T10:00:00Z", "2026-07-05T02:00:00Z", day},
		{"now in another zone", daily2, "UTC", "", "2026-07-05T12:00:00+02:00", "2026-07-05T02:00:00Z", day},
		// Auckland (NZST, +12): now is 22:00 local on 5 July; the UTC date
		// 5 July is read as local wall clock, so the slot is 02:00 NZST on
		// 5 July, 20 hours ago.
		{"auckland same date", daily2, "Pacific/Auckland", "", "2026-07-05T10:00:00Z", "2026-07-05T02:00:00+12:00", day},
		// Now is 01:00 local on 6 July, but the UTC date is still 5 July:
		// the slot is 02:00 NZST on 5 July, 23 hours ago.
		{"auckland local date ahead", daily2, "Pacific/Auckland", "", "2026-07-05T13:00:00Z", "2026-07-05T02:00:00+12:00", day},
		// Los Angeles (PDT, -7): now is 20:00 local on 4 July, the UTC date
		// is 5 July, so the first slot is 02:00 PDT on 5 July, in 6 hours,
		// although 02:00 on 4 July already passed locally.
		{"los angeles local date behind", daily2, "America/Los_Angeles", "", "2026-07-05T03:00:00Z", "2026-07-05T02:00:00-07:00", day},
		{"los angeles hour 23", Cron{Period: Daily, Hour: 23}, "America/Los_Angeles", "", "2026-07-05T10:00:00Z", "2026-07-05T23:00:00-07:00", day},
		// 2026-07-01 is a Wednesday; the base is 2026-06-30 23:59:59.
		{"weekly", Cron{Period: Weekly, Hour: 2, Day: 1}, "UTC", "", "2026-07-01T10:00:00Z", "2026-07-05T02:00:00Z", 7 * day},
		{"monthly overdue", Cron{Period: Monthly, Hour: 2, Day: 1}, "UTC", "", "2026-07-01T10:00:00Z", "2026-07-01T02:00:00Z", 30 * day},
	})
}

func TestNextDST(t *testing.T) {
	daily := func(h int) Cron { return Cron{Period: Daily, Hour: h} }
	runNextCases(t, []nextCase{
		// Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z, so the
		// 02:00 slot does not exist and is due at 03:00 CEST. 02:00 CET the
		// day before was also 01:00Z.
		{"berlin spring gap", daily(2), "Europe/Berlin", "2026-03-28T01:05:00Z", "", "2026-03-29T03:00:00+02:00", day},
		{"berlin after spring gap", daily(2), "Europe/Berlin", "2026-03-29T01:05:00Z", "", "2026-03-30T02:00:00+02:00", 23 * time.Hour},
		{"berlin across spring", daily(3), "Europe/Berlin", "2026-03-28T02:05:00Z", "", "2026-03-29T03:00:00+02:00", 23 * time.Hour},
		// Berlin, 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00Z, so
		// 02:00 happens twice; the first time, 02:00 CEST, counts.
		{"berlin fall overlap", daily(2), "Europe/Berlin", "2026-10-24T00:05:00Z", "", "2026-10-25T02:00:00+02:00", day},
		{"berlin fall overlap same night", daily(2), "Europe/Berlin", "2026-10-24T23:30:00Z", "", "2026-10-25T02:00:00+02:00", day},
		{"berlin after fall overlap", daily(2), "Europe/Berlin", "2026-10-25T00:05:00Z", "", "2026-10-26T02:00:00+01:00", 25 * time.Hour},
		// The last backup in the second 02:00 hour: its wall clock is past
		// the slot, so the second occurrence does not start another backup.
		{"berlin last in second pass", daily(2), "Europe/Berlin", "2026-10-25T01:05:00Z", "", "2026-10-26T02:00:00+01:00", 25 * time.Hour},
		{"berlin across fall", daily(3), "Europe/Berlin", "2026-10-24T01:05:00Z", "", "2026-10-25T03:00:00+01:00", 25 * time.Hour},
		// New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
		{"new york spring gap", daily(2), "America/New_York", "2026-03-07T07:30:00Z", "", "2026-03-08T03:00:00-04:00", day},
		{"new york after spring gap", daily(2), "America/New_York", "2026-03-08T07:30:00Z", "", "2026-03-09T02:00:00-04:00", 23 * time.Hour},
		// New York, 2026-11-01: 02:00 EDT goes back to 01:00 EST at 06:00Z,
		// so 01:00 happens twice, first at 05:00Z.
		{"new york fall overlap", daily(1), "America/New_York", "2026-10-31T05:30:00Z", "", "2026-11-01T01:00:00-04:00", day},
		{"new york last in first pass", daily(1), "America/New_York", "2026-11-01T05:30:00Z", "", "2026-11-02T01:00:00-05:00", 25 * time.Hour},
		{"new york last at second 01:00", daily(1), "America/New_York", "2026-11-01T06:00:00Z", "", "2026-11-02T01:00:00-05:00", 25 * time.Hour},
		// Lord Howe, 2026-10-04: 02:00 +10:30 jumps to 02:30 +11 at 15:30Z
		// the day before, so the 02:00 slot is due at 02:30 local.
		{"lord howe spring gap", daily(2), "Australia/Lord_Howe", "2026-10-02T15:35:00Z", "", "2026-10-04T02:30:00+11:00", day},
		{"lord howe after spring gap", daily(2), "Australia/Lord_Howe", "2026-10-03T15:40:00Z", "", "2026-10-05T02:00:00+11:00", 23*time.Hour + 30*time.Minute},
		// Lord Howe, 2026-04-05: 02:00 +11 goes back to 01:30 +10:30 at 15:00Z
		// the day before; 02:00 then happens once, at +10:30.
		{"lord howe fall", daily(2), "Australia/Lord_Howe", "2026-04-03T15:05:00Z", "", "2026-04-05T02:00:00+10:30", 24*time.Hour + 30*time.Minute},
		{"lord howe fall hour 1", daily(1), "Australia/Lord_Howe", "2026-04-03T14:05:00Z", "", "2026-04-05T01:00:00+11:00", day},
		{"lord howe after fall hour 1", daily(1), "Australia/Lord_Howe", "2026-04-04T14:05:00Z", "", "2026-04-06T01:00:00+10:30", 24*time.Hour + 30*time.Minute},
	})
}

// Past 2037 Go computes these zones' offsets from the TZ rule string, and
// Time.ZoneBounds reports wrong bounds at the end of leap years
// (golang/go#81583); the first fuzz run found that with 2056-12-31.
func TestNextFarFuture(t *testing.T) {
	runNextCases(t, []nextCase{
		{"berlin new year after leap year", Cron{Period: Daily, Hour: 2}, "Europe/Berlin", "2056-12-31T01:30:00Z", "", "2057-01-01T02:00:00+01:00", day},
		{"berlin monthly across new year", Cron{Period: Monthly, Hour: 2, Day: 1}, "Europe/Berlin", "2057-01-30T02:58:57Z", "", "2057-02-01T02:00:00+01:00", 31 * day},
		// 2057-03-25 is the last Sunday of March: 02:00 CET jumps to 03:00 CEST.
		{"berlin spring gap 2057", Cron{Period: Daily, Hour: 2}, "Europe/Berlin", "2057-03-24T01:30:00Z", "", "2057-03-25T03:00:00+02:00", day},
		{"new york new year after leap year", Cron{Period: Daily, Hour: 19}, "America/New_York", "2040-12-31T00:30:00Z", "", "2040-12-31T19:00:00-05:00", day},
	})
}

func TestNextNilLocation(t *testing.T) {
	last := mustParse(t, "2026-07-05T02:07:31Z")
	want := mustParse(t, "2026-07-06T02:00:00Z")
	got, interval, err := Next(Cron{Period: Daily, Hour: 2}, last, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) || got.Location() != time.UTC || interval != day {
		t.Errorf("Next with nil location = %s, %s; want %s in UTC, %s", got, interval, want, day)
	}
}

func TestValidate(t *testing.T) {
	valid := []Cron{
		{Period: Daily, Hour: 0},
		{Period: Daily, Hour: 23},
		{Period: Daily, Hour: 2, Day: 99},
		{Period: Weekly, Hour: 2, Day: 1},
		{Period: Weekly, Hour: 2, Day: 7},
		{Period: Monthly, Hour: 2, Day: 1},
		{Period: Monthly, Hour: 2, Day: 31},
	}
	for _, c := range valid {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", c, err)
		}
	}

	invalid := []struct {
		cron Cron
		want string
	}{
		{Cron{Period: -1, Hour: 2}, "invalid period -1"},
		{Cron{Period: 3, Hour: 2}, "invalid period 3"},
		{Cron{Period: Daily, Hour: -1}, "invalid hour -1"},
		{Cron{Period: Daily, Hour: 24}, "invalid hour 24"},
		{Cron{Period: Weekly, Hour: 2, Day: 0}, "invalid day 0 for a weekly schedule"},
		{Cron{Period: Weekly, Hour: 2, Day: 8}, "invalid day 8 for a weekly schedule"},
		{Cron{Period: Monthly, Hour: 2, Day: 0}, "invalid day 0 for a monthly schedule"},
		{Cron{Period: Monthly, Hour: 2, Day: 32}, "invalid day 32 for a monthly schedule"},
	}
	last := mustParse(t, "2026-07-05T02:07:31Z")
	for _, tc := range invalid {
		err := tc.cron.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Validate() = %v, want an error containing %q", tc.cron, err, tc.want)
		}
		if _, _, err := Next(tc.cron, last, last, time.UTC); err == nil {
			t.Errorf("Next(%+v) returned no error", tc.cron)
		}
	}
}
