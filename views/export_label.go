package views

// exportLabel names the Download CSV link after the dashboard's filter, so that a streamer
// looking at one type knows the file holds that type only.
func exportLabel(filters []FilterLink) string {
	for _, f := range filters {
		if f.Current && f.Type != "" {
			return "Download CSV: " + f.Label
		}
	}
	return "Download CSV"
}
