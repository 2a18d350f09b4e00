package views

import "strconv"

// AlertStyleView is one alert type's look and sound in the settings form.
type AlertStyleView struct {
	Image, Sound string // "" the default, "none", an https URL or an upload's /media/ path
	// ImageNow and SoundNow are the URLs that play now (the streamer's or the defaults; "" none).
	ImageNow, SoundNow string
	Volume             string // percent; "" the default
	Layout             string // "above" ("" too) or "beside"
	TextColor          string // #rrggbb, the default filled in
	NameColor          string
	Background         string
	FontSize           string // px on a 1920×1080 canvas; "" the default
	TierUnit           string // what a tier's minimum counts ("bits"); "" the type has no tiers
	Tiers              []AlertTierView
	MaxMedia           int // MiB per upload
}

// AlertTierView is one tier row; an empty Min is an unused row.
type AlertTierView struct {
	Min, Image, Sound, Seconds string
}

// StyleField is the form field of a type's style: the handler reads the same names.
func StyleField(name, typ string) string { return "style_" + name + "_" + typ }

// TierField is the form field of a type's tier i (from 0).
func TierField(name string, i int, typ string) string {
	return "tier_" + name + "_" + strconv.Itoa(i) + "_" + typ
}
