package assets

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The accent colour is text (links, the current filter, the checklist) and a button's background:
// in the light and the dark theme it must reach WCAG AA for small text (4.5:1) against the
// background, the panels, and the button's own text.
func TestAccentContrast(t *testing.T) {
	css, err := os.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	light := string(css)
	dark, ok := strings.CutPrefix(light[strings.Index(light, "@media (prefers-color-scheme: dark)"):], "@media")
	if !ok {
		t.Fatal("app.css has no dark theme")
	}
	dark = dark[:strings.Index(dark, "}")]
	themes := map[string]map[string]string{"light": vars(light[:strings.Index(light, "@media")]), "dark": vars(dark)}
	for name, v := range themes {
		if name == "dark" { // the dark theme overrides some variables; the rest are the light ones
			for k, c := range themes["light"] {
				if _, ok := v[k]; !ok {
					v[k] = c
				}
			}
		}
		for _, pair := range [][2]string{{"--accent", "--bg"}, {"--accent", "--surface"}, {"--accent-text", "--accent"}, {"--muted", "--bg"}, {"--muted", "--surface"}} {
			if r := contrast(v[pair[0]], v[pair[1]]); r < 4.5 {
				t.Errorf("%s theme: %s %s on %s %s is %.2f:1, want at least 4.5:1", name, pair[0], v[pair[0]], pair[1], v[pair[1]], r)
			}
		}
	}
}

var cssVar = regexp.MustCompile(`(--[a-z-]+):\s*(#[0-9a-fA-F]{6})`)

func vars(css string) map[string]string {
	m := map[string]string{}
	for _, g := range cssVar.FindAllStringSubmatch(css, -1) {
		m[g[1]] = g[2]
	}
	return m
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		n, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		v := float64(n) / 255
		if v <= 0.03928 {
			c[i] = v / 12.92
		} else {
			c[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
