package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/twitch-event-viewer/tev/app/config"
	"github.com/twitch-event-viewer/tev/app/eventsub"
)

// followTemplate makes signed channel.follow notifications cheaply, so that the generator costs
// little next to the server it measures: eventsub.NewFollow builds one body with placeholders,
// and each message only fills them in and is signed by eventsub.Sign. The subscription is the
// same for every message, as a real one is.
type followTemplate struct {
	secret string
	sub    eventsub.Subscription
	parts  [][]byte // the body around the placeholders
	slots  []string // the placeholder between parts[i] and parts[i+1]
}

// Placeholders of the template: the broadcaster's id, the follower's number, the follow's time.
const (
	slotBroadcaster = "@B@"
	slotFollower    = "@F@"
	slotAt          = "@T@"
)

var slotPattern = regexp.MustCompile(`@[BFT]@`)

// atPlaceholder is a time whose RFC 3339 form, in the template, becomes slotAt.
var atPlaceholder = time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)

func newFollowTemplate(secret, callback string) (*followTemplate, error) {
	msg, err := eventsub.NewFollow(secret, callback,
		eventsub.Follower{ID: slotBroadcaster, Login: "channel_" + slotBroadcaster, Name: "Channel " + slotBroadcaster},
		eventsub.Follower{ID: slotFollower, Login: "load_" + slotFollower, Name: "load_" + slotFollower}, atPlaceholder)
	if err != nil {
		return nil, err
	}
	body := bytes.ReplaceAll(msg.Body, []byte(atPlaceholder.Format(time.RFC3339Nano)), []byte(slotAt))
	t := &followTemplate{secret: secret, sub: eventsub.Subscription{
		Type: msg.Header.Get(eventsub.HeaderSubscriptionType), Version: msg.Header.Get(eventsub.HeaderSubscriptionVersion)}}
	last := 0
	for _, m := range slotPattern.FindAllIndex(body, -1) {
		t.parts = append(t.parts, body[last:m[0]])
		t.slots = append(t.slots, string(body[m[0]:m[1]]))
		last = m[1]
	}
	t.parts = append(t.parts, body[last:])
	if len(t.slots) == 0 {
		return nil, fmt.Errorf("load: the follow template has no placeholders")
	}
	return t, nil
}

// make is follow number n (the follower load_n, id 1000000+n) in broadcaster's channel, signed at now.
func (t *followTemplate) make(broadcaster string, n int64, now time.Time) eventsub.Outgoing {
	at := now.UTC().Format(time.RFC3339Nano)
	follower := strconv.FormatInt(1_000_000+n, 10)
	body := make([]byte, 0, 1024)
	for i, p := range t.parts {
		body = append(body, p...)
		if i == len(t.slots) {
			break
		}
		switch t.slots[i] {
		case slotBroadcaster:
			body = append(body, broadcaster...)
		case slotFollower:
			body = append(body, follower...)
		case slotAt:
			body = append(body, at...)
		}
	}
	return eventsub.Sign(t.secret, eventsub.TypeNotification, eventsub.NewID(), t.sub, body, now)
}

// broadcasterOf spreads follows over the channels 1337, 1338, ...
func broadcasterOf(n int64, broadcasters int) string {
	base, _ := strconv.Atoi(config.DefaultDemoBroadcasterID)
	return strconv.Itoa(base + int(n%int64(broadcasters)))
}

// resends reports whether message n (from 1) is sent twice, so that a fraction ratio of all
// messages is: spread evenly, the same on every run.
func resends(n int64, ratio float64) bool {
	return int64(float64(n)*ratio) > int64(float64(n-1)*ratio)
}
