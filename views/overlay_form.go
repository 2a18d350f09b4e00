package views

import (
	"strconv"
	"strings"
)

// followType is the follow alert's type: its "On" box is safe mode's switch too.
const followType = "channel.follow"

// fieldID makes an event type usable in an element id ("channel.follow" → "channel-follow").
func fieldID(typ string) string { return strings.NewReplacer(".", "-", "_", "-").Replace(typ) }

// fixCount says how many values of a form need fixing.
func fixCount(n int) string {
	if n == 1 {
		return "1 value needs fixing; it is"
	}
	return strconv.Itoa(n) + " values need fixing; they are"
}
