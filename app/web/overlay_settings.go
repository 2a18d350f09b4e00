package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

const (
	maxTemplate = 200       // characters of an alert's text template
	maxCSS      = 10 * 1024 // bytes of the overlay's custom CSS
)

// dashboardOverlayAlerts saves the per-type alert settings and the custom CSS; open overlays
// pick them up at once.
func (s *Server) dashboardOverlayAlerts(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	settings, css, err := alertSettingsForm(c)
	if err != nil {
		return err
	}
	rules, errs := queueRulesForm(c)
	if len(errs) > 0 {
		return badRequest(strings.TrimSpace(errs["queue_max"]+" "+errs["queue_busy_seconds"]), nil)
	}
	if err := s.alertStyles(c, settings, true); err != nil {
		return err
	}
	if err := s.store.SaveAlertSettings(c.Request.Context(), b, settings, css); err != nil {
		return unavailable("The alert settings could not be saved: the database is not answering.", err)
	}
	if err := s.store.SaveQueueRules(c.Request.Context(), b, rules); err != nil {
		return unavailable("The queue rules could not be saved: the database is not answering.", err)
	}
	s.dropUnusedMedia(c, b, settings)
	s.tellOverlaysLogged(c, b, overlay.Signal{Kind: overlay.SettingsChanged})
	c.Redirect(http.StatusSeeOther, "/dashboard")
	return nil
}

// dashboardOverlayPreview renders the overlay page playing a sample alert of preview_type with
// the posted (unsaved) settings, for the panel's preview frame.
func (s *Server) dashboardOverlayPreview(c *gin.Context) error {
	settings, css, err := alertSettingsForm(c)
	if err != nil {
		return err
	}
	if err := s.alertStyles(c, settings, false); err != nil {
		return err
	}
	ev, err := s.sampleAlertEvent(c, c.PostForm("preview_type"))
	if err != nil {
		return err
	}
	p := overlay.Policy{Settings: map[string]store.AlertSetting{}, Looks: s.alertDefaults()}
	for _, set := range settings {
		p.Settings[set.Type] = set
	}
	sample, err := jsonString(p.Alert(ev))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "SAMEORIGIN") // shown in the dashboard's preview frame
	return s.renderPage(c, http.StatusOK, views.OverlayPage(views.OverlayView{
		CSS: s.assets.URL("overlay.css"), Script: s.assets.URL("overlay.js"),
		AlertMillis: int(s.cfg.OverlayAlert.Milliseconds()), CustomCSS: css, Preview: sample,
	}))
}

// alertSettingsForm reads and checks the settings form: one row per alert type, and the CSS.
func alertSettingsForm(c *gin.Context) ([]store.AlertSetting, string, error) {
	var settings []store.AlertSetting
	for _, k := range eventsub.Kinds {
		if k.Alert == eventsub.NoAlert {
			continue
		}
		set := store.AlertSetting{Type: k.Type, Enabled: c.PostForm("enabled_"+k.Type) == "1",
			Template: strings.TrimSpace(c.PostForm("template_" + k.Type))}
		if utf8.RuneCountInString(set.Template) > maxTemplate {
			return nil, "", badRequest(fmt.Sprintf("The %s alert's text is longer than %d characters.", k.Label, maxTemplate), nil)
		}
		if err := overlay.CheckTemplate(k, set.Template); err != nil {
			return nil, "", badRequest(err.Error(), nil)
		}
		if d := strings.TrimSpace(c.PostForm("duration_" + k.Type)); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil || n < 1 || n > 60 {
				return nil, "", badRequest(fmt.Sprintf("The %s alert's duration must be 1 to 60 seconds.", k.Label), nil)
			}
			set.DurationSeconds = n
		}
		settings = append(settings, set)
	}
	css := c.PostForm("css")
	if len(css) > maxCSS {
		return nil, "", badRequest(fmt.Sprintf("The custom CSS is longer than %d bytes.", maxCSS), nil)
	}
	return settings, css, nil
}

// alertSettingsView is the settings form's rows: saved settings, else the defaults (on).
func (s *Server) alertSettingsView(ctx context.Context, broadcaster string) ([]views.AlertSettingView, error) {
	saved, err := s.store.AlertSettings(ctx, broadcaster)
	if err != nil {
		return nil, unavailable("Your alert settings could not be loaded: the database is not answering.", err)
	}
	var rows []views.AlertSettingView
	for _, k := range eventsub.Kinds {
		if k.Alert == eventsub.NoAlert {
			continue
		}
		row := views.AlertSettingView{Type: k.Type, Label: k.Label, Enabled: k.Alert == eventsub.AlertOn, Hint: k.Hint}
		if set, ok := saved[k.Type]; ok {
			row.Enabled, row.Template = set.Enabled, set.Template
			if set.DurationSeconds > 0 {
				row.Duration = strconv.Itoa(set.DurationSeconds)
			}
		}
		row.Style = alertStyleView(k.Type, saved[k.Type].Style, s.alertDefaults())
		rows = append(rows, row)
	}
	return rows, nil
}
