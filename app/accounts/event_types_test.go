package accounts_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/eventsub"
	"github.com/twitch-event-viewer/tev/app/store"
	"github.com/twitch-event-viewer/tev/app/store/storetest"
	"github.com/twitch-event-viewer/tev/app/twitch/twitchtest"
)

// choose saves a streamer's choice of event types (only those named enabled) and applies it.
func (e *env) choose(broadcasterID string, enabled ...string) error {
	e.t.Helper()
	choices := map[string]bool{}
	for _, k := range eventsub.Kinds {
		choices[k.Type] = false
	}
	for _, t := range enabled {
		choices[t] = true
	}
	if err := e.store.SaveEventTypeChoices(e.ctx, broadcasterID, choices, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return e.svc.ApplyEventTypes(e.ctx, broadcasterID)
}

func ownedBy(broadcasterID string) func(twitchtest.Subscription) bool {
	return func(s twitchtest.Subscription) bool {
		return s.Condition["broadcaster_user_id"] == broadcasterID || s.Condition["to_broadcaster_user_id"] == broadcasterID
	}
}

// wantConditions are Twitch's conditions for each type, for broadcaster 1001.
var wantConditions = map[string]map[string]string{
	eventsub.ChannelFollow:            {"broadcaster_user_id": "1001", "moderator_user_id": "1001"},
	eventsub.ChannelSubscribe:         {"broadcaster_user_id": "1001"},
	eventsub.ChannelSubscriptionGift:  {"broadcaster_user_id": "1001"},
	eventsub.ChannelSubscriptionMsg:   {"broadcaster_user_id": "1001"},
	eventsub.ChannelCheer:             {"broadcaster_user_id": "1001"},
	eventsub.ChannelRaid:              {"to_broadcaster_user_id": "1001"},
	eventsub.ChannelAdBreakBegin:      {"broadcaster_user_id": "1001"},
	eventsub.ChannelShoutoutReceive:   {"broadcaster_user_id": "1001", "moderator_user_id": "1001"},
	eventsub.ChannelHypeTrainBegin:    {"broadcaster_user_id": "1001"},
	eventsub.ChannelHypeTrainProgress: {"broadcaster_user_id": "1001"},
	eventsub.ChannelHypeTrainEnd:      {"broadcaster_user_id": "1001"},
	eventsub.StreamOnline:             {"broadcaster_user_id": "1001"},
	eventsub.StreamOffline:            {"broadcaster_user_id": "1001"},
	eventsub.ChannelPointsRedemption:  {"broadcaster_user_id": "1001"},
}

// Enabling types creates their subscriptions, with Twitch's condition for each; disabling them
// deletes them at Twitch and here.
func TestEventTypesCreateAndDeleteSubscriptions(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		e.subscribe(u.ID) // the default: follows only

		all := make([]string, 0, len(eventsub.Kinds))
		for _, k := range eventsub.Kinds {
			all = append(all, k.Type)
		}
		if err := e.choose(u.ID, all...); err != nil {
			t.Fatalf("enable every type: %v", err)
		}
		subs := e.remote(ownedBy(u.ID))
		if len(subs) != len(wantConditions) {
			t.Fatalf("Twitch has %d subscriptions, want %d: %+v", len(subs), len(wantConditions), subs)
		}
		for _, s := range subs {
			k, _ := eventsub.KindOf(s.Type)
			if !maps.Equal(s.Condition, wantConditions[s.Type]) || s.Version != k.Version {
				t.Errorf("%s v%s condition %v, want v%s %v", s.Type, s.Version, s.Condition, k.Version, wantConditions[s.Type])
			}
			e.await(s.ID)
		}
		if rows := e.local(u.ID); len(rows) != len(wantConditions) {
			t.Fatalf("%d local rows, want %d: %+v", len(rows), len(wantConditions), rows)
		}

		if err := e.choose(u.ID, eventsub.ChannelCheer, eventsub.ChannelRaid); err != nil {
			t.Fatalf("keep cheers and raids: %v", err)
		}
		var remote, local []string
		for _, s := range e.remote(ownedBy(u.ID)) {
			remote = append(remote, s.Type)
		}
		for _, r := range e.local(u.ID) {
			local = append(local, r.Type)
		}
		for name, got := range map[string][]string{"at Twitch": remote, "locally": local} {
			if len(got) != 2 || !strings.Contains(strings.Join(got, " "), eventsub.ChannelCheer) ||
				!strings.Contains(strings.Join(got, " "), eventsub.ChannelRaid) {
				t.Errorf("subscriptions %s after disabling: %v, want cheer and raid only", name, got)
			}
		}

		// Reconcile agrees: the streamer's subscriptions stay as chosen.
		before := e.remote(ownedBy(u.ID))
		if err := e.svc.Reconcile(e.ctx); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		after := e.remote(ownedBy(u.ID))
		if len(after) != 2 || after[0].ID != before[0].ID || after[1].ID != before[1].ID {
			t.Fatalf("Reconcile changed the chosen subscriptions: %+v, was %+v", after, before)
		}
	})
}

// Reconcile deletes the subscription of a type the streamer disabled meanwhile (the app was
// down) and creates those of the types enabled.
func TestReconcileFollowsEventTypes(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		e.signIn(u)
		e.subscribe(u.ID)
		err := e.store.SaveEventTypeChoices(e.ctx, u.ID, map[string]bool{eventsub.ChannelFollow: false, eventsub.StreamOnline: true}, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Reconcile(e.ctx); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		subs := e.remote(ownedBy(u.ID))
		if len(subs) != 1 || subs[0].Type != eventsub.StreamOnline {
			t.Fatalf("after Reconcile Twitch has %+v, want one stream.online subscription", subs)
		}
	})
}

// An account that signed in before the app asked for more scopes keeps working: enabling a
// type whose scope it lacks fails that subscription only, saying why, and signing in again
// (Reconnect) creates it.
func TestMissingScopeFailsOnlyThatType(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u := e.addUser("1001", "streamer_one")
		if _, err := e.svc.SignIn(e.ctx, grant(u, e.authorize(u, followScope))); err != nil {
			t.Fatalf("SignIn with the follow scope only: %v", err)
		}
		e.subscribe(u.ID)
		if err := e.svc.ValidateAll(e.ctx); err != nil {
			t.Fatal(err)
		}
		if a := e.account(u.ID); a.Status != store.AccountOK {
			t.Fatalf("an old account with the follow scope is %q (%q), want ok", a.Status, a.StatusReason)
		}

		mark := e.mark()
		if err := e.choose(u.ID, eventsub.ChannelFollow, eventsub.ChannelCheer); err == nil {
			t.Fatal("enabling cheers without bits:read succeeded")
		}
		if got := e.since(mark, "POST", "/helix/eventsub/subscriptions"); len(got) != 0 {
			t.Fatalf("Twitch was asked for a subscription the token cannot have: %v", e.trail(mark))
		}
		var cheer *store.Subscription
		for _, r := range e.local(u.ID) {
			if r.Type == eventsub.ChannelCheer {
				cheer = &r
			}
		}
		if cheer == nil || cheer.Status != "error" || !strings.Contains(cheer.LastError, "bits:read") {
			t.Fatalf("cheer row %+v, want a failure naming bits:read", cheer)
		}
		if a := e.account(u.ID); a.Status != store.AccountOK {
			t.Fatalf("account is %q, want ok: only the cheer subscription lacks its scope", a.Status)
		}

		e.signIn(u) // Reconnect: every scope granted
		if err := e.svc.Setup(e.ctx, u.ID); err != nil {
			t.Fatalf("Setup after reconnecting: %v", err)
		}
		subs := e.remote(func(s twitchtest.Subscription) bool { return s.Type == eventsub.ChannelCheer })
		if len(subs) != 1 {
			t.Fatalf("Twitch has %d cheer subscriptions after reconnecting, want 1", len(subs))
		}
		e.await(subs[0].ID)
		for _, r := range e.local(u.ID) {
			if r.Status == "error" {
				t.Fatalf("a failed row is left after reconnecting: %+v", r)
			}
		}
	})
}
