package client

import (
	"context"
	"errors"
	"strings"
)

// SettingsPath is the endpoint that returns the portal settings, among
// them the portal's time zone (only to authenticated callers).
const SettingsPath = "/api/2.0/settings"

type settingsDTO struct {
	Timezone *string `json:"timezone"`
}

// Timezone calls settings and returns the portal's time zone, an IANA id
// such as "Europe/Berlin".
func (c *Client) Timezone(ctx context.Context) (string, error) {
	dto, err := get[settingsDTO](ctx, c, SettingsPath, "")
	if err != nil {
		return "", err
	}
	if dto == nil || dto.Timezone == nil || strings.TrimSpace(*dto.Timezone) == "" {
		return "", &Error{Kind: KindMalformed, Endpoint: SettingsPath, StatusCode: 200,
			Detail: "the settings carry no time zone", Err: errors.New("set the time zone in the portal's settings, or give it in the exporter's settings of this portal")}
	}
	return strings.TrimSpace(*dto.Timezone), nil
}
