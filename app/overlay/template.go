package overlay

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// A template is the streamer's wording of one type's alert: text with {user}, {amount} and
// {message}, each only where the type has it.
const (
	phUser    = "{user}"
	phAmount  = "{amount}"
	phMessage = "{message}"
)

// placeholder finds what looks like a placeholder: a word in braces.
var placeholder = regexp.MustCompile(`\{\w*\}`)

// Placeholders are the ones a type's template may use, in the order the form names them.
func Placeholders(k eventsub.Kind) []string {
	var out []string
	if k.HasUser() {
		out = append(out, phUser)
	}
	if k.HasAmount() {
		out = append(out, phAmount)
	}
	if k.HasMessage() {
		out = append(out, phMessage)
	}
	return out
}

// CheckTemplate says why tmpl cannot be the template of k's alerts: it uses a placeholder that is
// not one, or one the type has nothing to fill with (a follow has no amount). Nil: it can.
func CheckTemplate(k eventsub.Kind, tmpl string) error {
	allowed := Placeholders(k)
	for _, ph := range placeholder.FindAllString(tmpl, -1) {
		known := ph == phUser || ph == phAmount || ph == phMessage
		switch {
		case known && !contains(allowed, ph):
			return fmt.Errorf("The %s alert's text uses %s, but %s alerts have %s. %s", k.Label, ph, k.Label, noun(ph), use(allowed))
		case !known:
			return fmt.Errorf("The %s alert's text uses %s, which is not a placeholder. %s", k.Label, ph, use(allowed))
		}
	}
	return nil
}

func noun(ph string) string {
	switch ph {
	case phUser:
		return "no viewer's name"
	case phAmount:
		return "no amount"
	}
	return "no message"
}

// use lists the placeholders a type's template may use, for an error's end.
func use(allowed []string) string {
	switch len(allowed) {
	case 0:
		return "Its text takes no placeholders."
	case 1:
		return "Use " + allowed[0] + "."
	}
	return "Use " + strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1] + "."
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// separators are what a template puts between the rest and a {message}: dropped with an empty one.
const separators = " \t:;,-–—|·"

// trimSeparator drops the separator at the end of the line's last text, and the text if nothing
// is left of it.
func trimSeparator(line []Segment) []Segment {
	n := len(line)
	if n == 0 || line[n-1].User != "" {
		return line
	}
	if line[n-1].Text = strings.TrimRight(line[n-1].Text, separators); line[n-1].Text == "" {
		return line[:n-1]
	}
	return line
}

// Fill fills tmpl in: {user} becomes a segment the page highlights, {amount} and {message} text.
// Anything else in braces (a template saved before placeholders were checked) stays as typed.
// An empty message takes the separator before it along. The page sets each segment as text,
// never as HTML.
func Fill(tmpl, user string, amount int, message string) []Segment {
	var line []Segment
	lead := false // an empty message began the line: the separator after it goes too
	text := func(s string) {
		if lead {
			s = strings.TrimLeft(s, separators)
		}
		if s == "" {
			return
		}
		lead = false
		if n := len(line); n > 0 && line[n-1].User == "" {
			line[n-1].Text += s
			return
		}
		line = append(line, Segment{Text: s})
	}
	rest := tmpl
	for {
		loc := placeholder.FindStringIndex(rest)
		if loc == nil {
			text(rest)
			return line
		}
		text(rest[:loc[0]])
		switch ph := rest[loc[0]:loc[1]]; ph {
		case phUser:
			if user != "" {
				line = append(line, Segment{User: user})
				lead = false
			}
		case phAmount:
			text(eventsub.Grouped(amount))
		case phMessage:
			if message == "" {
				// "{user} cheered: {message}" with no message ends "cheered", not "cheered:".
				line = trimSeparator(line)
				lead = len(line) == 0
			}
			text(message)
		default:
			text(ph)
		}
		rest = rest[loc[1]:]
	}
}
