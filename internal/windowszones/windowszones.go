// Package windowszones maps the Windows time zone ids that a DocSpace
// server on Windows can report (such as "W. Europe Standard Time") to IANA
// time zones, as Unicode CLDR does.
package windowszones

//go:generate go run gen.go

// IANA returns the IANA time zone CLDR gives for the Windows time zone id,
// e.g. "Europe/Berlin" for "W. Europe Standard Time"; ok is false for an id
// that is not a Windows one.
func IANA(id string) (zone string, ok bool) {
	zone, ok = zones[id]
	return zone, ok
}
