package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
// pick them up at once. With htmx the form is answered in place, saved or with its errors
// beside the values they are about; without, errors come on a page of their own with the form.
// Either way the posted values are kept, never lost to a dead-end error page.
func (s *Server) dashboardOverlayAlerts(c *gin.Context) error {
	b := sessionOf(c).BroadcasterID
	f := alertSettingsForm(c)
	rules, ruleErrs := queueRulesForm(c)
	maps.Copy(f.errs, ruleErrs)
	// The look and sound fields too; uploads are stored only for a save that goes through.
	if err := s.alertStyles(c, f.settings, len(f.errs) == 0); err != nil {
		var he *httpError
		if !errors.As(err, &he) || he.status != http.StatusBadRequest {
			return err
		}
		f.errs["style"] = he.msg
	}
	status := http.StatusOK
	if len(f.errs) > 0 {
		status = http.StatusBadRequest
	} else {
		if err := s.store.SaveAlertSettings(c.Request.Context(), b, f.settings, f.css); err != nil {
			return unavailable("The alert settings could not be saved: the database is not answering.", err)
		}
		if err := s.store.SaveQueueRules(c.Request.Context(), b, rules); err != nil {
			return unavailable("The queue rules could not be saved: the database is not answering.", err)
		}
		s.dropUnusedMedia(c, b, f.settings)
		s.tellOverlaysLogged(c, b, overlay.Signal{Kind: overlay.SettingsChanged})
		if c.GetHeader("HX-Request") != "true" {
			c.Redirect(http.StatusSeeOther, "/dashboard")
			return nil
		}
	}
	panel, err := s.overlayPanel(c.Request.Context(), b, csrfToken(c))
	if err != nil {
		return err
	}
	panel.PreviewType, panel.AlertsSaved = f.preview, status == http.StatusOK
	if !panel.AlertsSaved { // the values as typed, beside what is wrong with them
		panel.Alerts, panel.CustomCSS, panel.AlertErrors = s.postedRows(c, f.rows), f.css, f.errs
		panel.QueueRules = queueRulesPosted(c)
	}
	c.Header("Cache-Control", "no-store")
	return s.render(c, status, views.OverlayAlertsPage(views.OverlayCreated{Page: s.page(c, "Alert settings"), Panel: panel}),
		views.OverlayAlertsAnswer(panel))
}

// postedRows gives the form's rows their look and sound fields as posted (an upload that was
// not stored is not among them: a file input cannot be filled in again).
func (s *Server) postedRows(c *gin.Context, rows []views.AlertSettingView) []views.AlertSettingView {
	for i := range rows {
		k, _ := eventsub.KindOf(rows[i].Type)
		var st overlay.Style
		_, _ = styleForm(c, k, &st, false) // what it could read; its error is already in the form's errors
		rows[i].Style = alertStyleView(k.Type, st.JSON(), s.looks)
	}
	return rows
}

// dashboardOverlayPreview renders the overlay page playing a sample alert of preview_type with
// the posted (unsaved) settings, for the panel's preview frame.
func (s *Server) dashboardOverlayPreview(c *gin.Context) error {
	f := alertSettingsForm(c)
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "SAMEORIGIN") // shown in the dashboard's preview frame
	if len(f.errs) > 0 {
		return s.renderPage(c, http.StatusBadRequest, views.OverlayUnavailable(views.OverlayUnavailableView{
			CSS: s.assets.URL("overlay.css"), Notice: "No preview: fix the values marked in the form first."}))
	}
	if err := s.alertStyles(c, f.settings, false); err != nil {
		return err
	}
	ev, err := s.sampleAlertEvent(c, f.preview)
	if err != nil {
		return err
	}
	p := overlay.Policy{Settings: map[string]store.AlertSetting{}, Looks: s.looks}
	for _, set := range f.settings {
		p.Settings[set.Type] = set
	}
	sample, err := jsonString(p.Alert(ev))
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, views.OverlayPage(views.OverlayView{
		CSS: s.assets.URL("overlay.css"), Script: s.assets.URL("overlay.js"),
		AlertMillis: int(s.cfg.OverlayAlert.Milliseconds()), CustomCSS: f.css, Preview: sample,
	}))
}

// alertForm is the settings form as posted: the settings it saves, the rows it shows again, and
// what is wrong with it, by field name.
type alertForm struct {
	settings []store.AlertSetting
	rows     []views.AlertSettingView
	css      string
	preview  string // the preview's alert type
	errs     map[string]string
}

// alertSettingsForm reads and checks the settings form: one row per alert type, and the CSS.
func alertSettingsForm(c *gin.Context) alertForm {
	f := alertForm{css: c.PostForm("css"), preview: c.PostForm("preview_type"), errs: map[string]string{}}
	for _, k := range eventsub.Kinds {
		if k.Alert == eventsub.NoAlert {
			continue
		}
		set := store.AlertSetting{Type: k.Type, Enabled: c.PostForm("enabled_"+k.Type) == "1",
			Template: strings.TrimSpace(c.PostForm("template_" + k.Type))}
		row := views.AlertSettingView{Type: k.Type, Label: k.Label, Enabled: set.Enabled, Template: set.Template,
			Duration: strings.TrimSpace(c.PostForm("duration_" + k.Type)), Hint: k.Hint}
		if utf8.RuneCountInString(set.Template) > maxTemplate {
			f.errs["template_"+k.Type] = fmt.Sprintf("The %s alert's text is longer than %d characters.", k.Label, maxTemplate)
		} else if err := overlay.CheckTemplate(k, set.Template); err != nil {
			f.errs["template_"+k.Type] = err.Error()
		}
		if row.Duration != "" {
			n, err := strconv.Atoi(row.Duration)
			if err != nil || n < 1 || n > 60 {
				f.errs["duration_"+k.Type] = fmt.Sprintf("The %s alert's duration must be 1 to 60 seconds.", k.Label)
			}
			set.DurationSeconds = n
		}
		f.settings = append(f.settings, set)
		f.rows = append(f.rows, row)
	}
	if len(f.css) > maxCSS {
		f.errs["css"] = fmt.Sprintf("The custom CSS is longer than %d bytes.", maxCSS)
	}
	return f
}

// alertSettingsView is the settings form's rows as saved: a type never saved shows its default.
func alertSettingsView(p overlay.Policy) []views.AlertSettingView {
	var rows []views.AlertSettingView
	for _, k := range eventsub.Kinds {
		if k.Alert == eventsub.NoAlert {
			continue
		}
		row := views.AlertSettingView{Type: k.Type, Label: k.Label, Enabled: p.Plays(k.Type), Hint: k.Hint}
		if set, ok := p.Settings[k.Type]; ok {
			row.Template = set.Template
			if set.DurationSeconds > 0 {
				row.Duration = strconv.Itoa(set.DurationSeconds)
			}
		}
		row.Style = alertStyleView(k.Type, p.Settings[k.Type].Style, p.Looks)
		rows = append(rows, row)
	}
	return rows
}

// alertPolicy is the streamer's saved policy: what plays, safe mode included.
func (s *Server) alertPolicy(ctx context.Context, ov *store.Overlay) (overlay.Policy, error) {
	saved, err := s.store.AlertSettings(ctx, ov.BroadcasterID)
	if err != nil {
		return overlay.Policy{}, unavailable("Your alert settings could not be loaded: the database is not answering.", err)
	}
	return s.policyOf(ov, saved), nil
}

// policyOf is the policy of an overlay's saved settings, with the app's default looks.
func (s *Server) policyOf(ov *store.Overlay, saved map[string]store.AlertSetting) overlay.Policy {
	p := overlay.PolicyOf(ov, saved)
	p.Looks = s.looks
	return p
}
