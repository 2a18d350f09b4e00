package export

import "testing"

// Text from strangers that a spreadsheet would run as a formula is quoted; other text is not.
func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"Viewer_1":          "Viewer_1",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"+1 hype":           "'+1 hype",
		"-5 points":         "'-5 points",
		"@everyone":         "'@everyone",
		"\t=1+1":            "'\t=1+1",
		"\r=1+1":            "'\r=1+1",
		"great 1+1=2":       "great 1+1=2",
		"ÉtoilePogChamp":    "ÉtoilePogChamp",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
