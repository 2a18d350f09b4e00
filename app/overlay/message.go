package overlay

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxMessage is how many characters of a viewer's message the overlay shows; a longer one is
// cut there and ends with an ellipsis, so that it never runs to five lines on stream.
const MaxMessage = 150

// cheermote matches a cheermote as typed in chat: a cheermote prefix and the bits, as a whole
// word, in any case ("Cheer100", "kappa5000"). Twitch's chat turns these into animated images;
// on an overlay they would be raw text.
var cheermote = regexp.MustCompile(`(?i)(^|\s)(?:` + strings.Join([]string{
	"Cheer", "DoodleCheer", "BibleThump", "cheerwhal", "Corgo", "uni", "ShowLove", "Party", "SeemsGood", "Pride",
	"Kappa", "FrankerZ", "HeyGuys", "DansGame", "EleGiggle", "TriHard", "Kreygasm", "4Head", "SwiftRage",
	"NotLikeThis", "FailFish", "VoHiYo", "PJSalt", "MrDestructoid", "bday", "RIPCheer", "Shamrock", "BitBoss",
	"Streamlabs", "Muxy", "HolidayCheer", "Goal", "Anon", "Charity",
}, "|") + `)\d+(?:$|\s)`)

// StripCheermotes takes the cheermotes out of a cheer's message and tidies the spaces left.
func StripCheermotes(msg string) string {
	// A match eats the spaces around it, so neighbours ("Cheer1 Cheer1") need a second pass.
	for cheermote.MatchString(msg) {
		msg = cheermote.ReplaceAllString(msg, " ")
	}
	return strings.Join(strings.Fields(msg), " ")
}

// Clamp cuts s after max characters and adds an ellipsis.
func Clamp(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return strings.TrimRight(string([]rune(s)[:max]), " ") + "…"
}
