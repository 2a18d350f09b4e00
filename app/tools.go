package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/export"
)

// exportCmd writes a channel's stored events to stdout, from the database the app is configured with.
func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broadcaster := fs.String("broadcaster", "", "Twitch user id of the channel (required)")
	format := fs.String("format", export.CSV, "csv or json")
	typ := fs.String("type", "", "only events of this type, as the dashboard's filter (default every type)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *broadcaster == "" {
		return errors.New("export: --broadcaster is required")
	}
	if *format != export.CSV && *format != export.JSON {
		return fmt.Errorf("export: --format must be csv or json, got %q", *format)
	}
	if _, ok := eventsub.KindOf(*typ); *typ != "" && !ok {
		return fmt.Errorf("export: --type must be one of %s; got %q", kindTypes(), *typ)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return export.Write(ctx, stdout, st, export.Selection{BroadcasterID: *broadcaster, Type: *typ}, *format)
}

// kindTypes lists the event types a streamer can choose, for an error message.
func kindTypes() string {
	types := make([]string, 0, len(eventsub.Kinds))
	for _, k := range eventsub.Kinds {
		types = append(types, k.Type)
	}
	return strings.Join(types, ", ")
}

// triggerCmd sends a signed test notification to a callback, for checking a deployment.
func triggerCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "follow" {
		return errors.New("trigger: the only event type is follow: app trigger follow --url URL --secret SECRET")
	}
	fs := flag.NewFlagSet("trigger follow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost:8080/webhooks/twitch", "the EventSub webhook callback")
	secret := fs.String("secret", getenv("EVENTSUB_SECRET"), "the EventSub secret the callback checks (default $EVENTSUB_SECRET)")
	broadcaster := fs.String("broadcaster", config.DefaultDemoBroadcasterID, "Twitch user id of the followed channel")
	user := fs.String("user", "test_follower", "login of the follower")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if !eventsub.ValidSecret(*secret) {
		return errors.New("trigger: --secret must be 10 to 100 visible ASCII characters")
	}
	msg, err := eventsub.NewFollow(*secret, *url,
		eventsub.Follower{ID: *broadcaster, Login: "broadcaster_" + *broadcaster, Name: "Broadcaster " + *broadcaster},
		eventsub.Follower{ID: strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 10), Login: *user, Name: *user},
		time.Now())
	if err != nil {
		return err
	}
	req, err := msg.Request(*url)
	if err != nil {
		return fmt.Errorf("trigger: %w", err)
	}
	client := &http.Client{Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }} // Twitch does not follow redirects
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("trigger: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stdout, "%s %s\nmessage id: %s\n", resp.Proto, resp.Status, msg.Header.Get(eventsub.HeaderMessageID))
	if len(body) > 0 {
		fmt.Fprintf(stdout, "%s\n", body)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("trigger: the callback answered %s", resp.Status)
	}
	return nil
}

// parseFlags parses a subcommand's flags and refuses stray arguments, which are always a typo
// (export --broadcaster 1 json would otherwise quietly write CSV).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags are written --name value)", fs.Name(), fs.Arg(0))
	}
	return nil
}
