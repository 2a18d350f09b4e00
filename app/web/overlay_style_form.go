package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/overlay"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/views"
)

// The settings form's style fields of type typ are named views.StyleField(name, typ), and a
// tier's views.TierField(name, i, typ): the form and this reader share the names.

// alertStyles reads each alert type's look and sound from the settings form into settings,
// checking them with messages that name the field. With save, the uploaded files are stored
// and fill their fields; without (the preview) uploads are ignored.
func (s *Server) alertStyles(c *gin.Context, settings []store.AlertSetting, save bool) error {
	b := sessionOf(c).BroadcasterID
	owned, err := s.store.MediaIDsOf(c.Request.Context(), b)
	if err != nil {
		return unavailable("Your uploads could not be loaded: the database is not answering.", err)
	}
	styles := make([]overlay.Style, len(settings))
	var ups []upload
	for i, set := range settings {
		k, _ := eventsub.KindOf(set.Type)
		u, err := styleForm(c, k, &styles[i], save)
		if err != nil {
			return badRequest(err.Error(), nil)
		}
		ups = append(ups, u...)
		if err := styles[i].Check(k.Type, k.Label, func(id string) bool { return owned[id] }); err != nil {
			return badRequest(err.Error(), nil)
		}
	}
	if save {
		if err := s.storeUploads(c, b, ups); err != nil {
			return err
		}
	}
	for i := range settings {
		settings[i].Style = styles[i].JSON()
	}
	return nil
}

// styleForm reads one type's style fields into st, and the files uploaded for them (read only
// with uploads; their fields are left empty until they are stored).
func styleForm(c *gin.Context, k eventsub.Kind, st *overlay.Style, uploads bool) ([]upload, error) {
	typ := k.Type
	field := func(name string) string { return strings.TrimSpace(c.PostForm(views.StyleField(name, typ))) }
	fail := func(format string, args ...any) error {
		return fmt.Errorf("The %s alert's "+format, append([]any{k.Label}, args...)...)
	}
	st.Image, st.Sound = field("image"), field("sound")
	st.Layout = field("layout")
	if st.Layout == overlay.LayoutAbove {
		st.Layout = ""
	}
	var err error
	if st.Volume, err = number(field("volume"), 1, 100); err != nil {
		return nil, fail("volume must be 1 to 100 percent.")
	}
	if st.FontSize, err = number(field("font_size"), overlay.MinFontSize, overlay.MaxFontSize); err != nil {
		return nil, fail("font size must be %d to %d pixels.", overlay.MinFontSize, overlay.MaxFontSize)
	}
	st.TextColor = colour(field("text_color"), overlay.DefaultTextColor)
	st.NameColor = colour(field("name_color"), overlay.DefaultNameColor)
	st.Background = colour(field("background"), overlay.DefaultBackground)

	if unit, ok := overlay.Tiered(typ); ok {
		for i := range overlay.MaxTiers {
			tf := func(name string) string { return strings.TrimSpace(c.PostForm(views.TierField(name, i, typ))) }
			t := overlay.Tier{Image: tf("image"), Sound: tf("sound")}
			if t.DurationSeconds, err = number(tf("seconds"), 1, 60); err != nil {
				return nil, fail("tier %d duration must be 1 to 60 seconds.", i+1)
			}
			hasFile := uploads && (formFile(c, views.TierField("image_file", i, typ)) || formFile(c, views.TierField("sound_file", i, typ)))
			min := tf("min")
			if min == "" {
				if t.Image != "" || t.Sound != "" || t.DurationSeconds != 0 || hasFile {
					return nil, fail("tier %d needs a minimum number of %s.", i+1, unit)
				}
				continue
			}
			if t.Min, err = strconv.Atoi(min); err != nil || t.Min < 1 {
				return nil, fail("tier %d needs a minimum of at least 1 %s.", i+1, unit)
			}
			st.Tiers = append(st.Tiers, t)
		}
	}
	if !uploads {
		return nil, nil
	}
	// The style's fields are final now (the tiers slice no longer grows): uploads may point into it.
	var ups []upload
	add := func(name, label, kind string, dst *string) error {
		fh, err := c.FormFile(name)
		if err != nil {
			return nil // no file chosen
		}
		data, typ, err := readUpload(fh, kind)
		if err != nil {
			return fail("%s file %s.", label, err)
		}
		*dst = ""
		ups = append(ups, upload{field: label, contentType: typ, data: data, set: func(ref string) { *dst = ref }})
		return nil
	}
	if err := add(views.StyleField("image_file", typ), "image", "image", &st.Image); err != nil {
		return nil, err
	}
	if err := add(views.StyleField("sound_file", typ), "sound", "sound", &st.Sound); err != nil {
		return nil, err
	}
	n := 0
	for i := range overlay.MaxTiers {
		if strings.TrimSpace(c.PostForm(views.TierField("min", i, typ))) == "" {
			continue
		}
		t := &st.Tiers[n]
		n++
		if err := add(views.TierField("image_file", i, typ), fmt.Sprintf("tier %d image", i+1), "image", &t.Image); err != nil {
			return nil, err
		}
		if err := add(views.TierField("sound_file", i, typ), fmt.Sprintf("tier %d sound", i+1), "sound", &t.Sound); err != nil {
			return nil, err
		}
	}
	return ups, nil
}

// number reads an optional whole number in [lo, hi]; "" is 0.
func number(v string, lo, hi int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("out of range")
	}
	return n, nil
}

// colour is a colour field's value as stored: "" when it is the default (a colour input always
// sends one).
func colour(v, def string) string {
	if strings.EqualFold(v, def) {
		return ""
	}
	return strings.ToLower(v)
}

func formFile(c *gin.Context, name string) bool {
	_, err := c.FormFile(name)
	return err == nil
}

// alertStyleView is the form's style fields of one type, from its stored style, with the image
// and sound that play now (the streamer's or the defaults).
func alertStyleView(typ, style string, d overlay.Defaults) views.AlertStyleView {
	st, _ := overlay.ParseStyle(style)
	st.SortTiers()
	now, _ := overlay.Resolve(typ, 0, st, d)
	v := views.AlertStyleView{Image: st.Image, Sound: st.Sound, Layout: st.Layout, ImageNow: now.Image, SoundNow: now.Sound,
		TextColor: or(st.TextColor, overlay.DefaultTextColor), NameColor: or(st.NameColor, overlay.DefaultNameColor),
		Background: or(st.Background, overlay.DefaultBackground), MaxMedia: maxMedia >> 20}
	if st.Volume > 0 {
		v.Volume = strconv.Itoa(st.Volume)
	}
	if st.FontSize > 0 {
		v.FontSize = strconv.Itoa(st.FontSize)
	}
	if unit, ok := overlay.Tiered(typ); ok {
		v.TierUnit = unit
		for i := range overlay.MaxTiers {
			var t views.AlertTierView
			if i < len(st.Tiers) {
				t = views.AlertTierView{Min: strconv.Itoa(st.Tiers[i].Min), Image: st.Tiers[i].Image, Sound: st.Tiers[i].Sound}
				if d := st.Tiers[i].DurationSeconds; d > 0 {
					t.Seconds = strconv.Itoa(d)
				}
			}
			v.Tiers = append(v.Tiers, t)
		}
	}
	return v
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
