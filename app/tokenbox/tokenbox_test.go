package tokenbox_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twitch-event-viewer/tev/app/tokenbox"
)

func TestSealOpenRotate(t *testing.T) {
	oldKey, newKey := tokenbox.NewKey(), tokenbox.NewKey()
	old, err := tokenbox.Parse(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed := old.Seal("secret-access-token", "access:42")
	if strings.Contains(sealed, "secret-access-token") || sealed == old.Seal("secret-access-token", "access:42") {
		t.Fatal("sealed value reveals the token or is deterministic")
	}
	if got, err := old.Open(sealed, "access:42"); err != nil || got != "secret-access-token" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := old.Open(sealed, "access:43"); !errors.Is(err, tokenbox.ErrCorrupt) {
		t.Fatalf("other owner: err = %v, want ErrCorrupt", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := old.Open(tampered, "access:42"); !errors.Is(err, tokenbox.ErrCorrupt) {
		t.Fatalf("tampered: err = %v, want ErrCorrupt", err)
	}

	rotated, err := tokenbox.Parse(newKey + "," + oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.Stale(sealed) {
		t.Fatal("value sealed with the previous key is not stale")
	}
	if got, err := rotated.Open(sealed, "access:42"); err != nil || got != "secret-access-token" {
		t.Fatalf("previous key no longer opens: %q, %v", got, err)
	}
	resealed := rotated.Seal("secret-access-token", "access:42")
	if rotated.Stale(resealed) {
		t.Fatal("freshly sealed value is stale")
	}
	onlyNew, _ := tokenbox.Parse(newKey)
	if _, err := onlyNew.Open(sealed, "access:42"); !errors.Is(err, tokenbox.ErrUnknownKey) {
		t.Fatalf("dropped key: err = %v, want ErrUnknownKey", err)
	}
	if got, _ := onlyNew.Open(resealed, "access:42"); got != "secret-access-token" {
		t.Fatal("resealed value does not open with the new key alone")
	}
	if onlyNew.Seal("", "x") != "" {
		t.Fatal("empty token must stay empty")
	}
}

func TestParseRejectsBadKeys(t *testing.T) {
	for _, list := range []string{"", "not base64!", "c2hvcnQ=", tokenbox.NewKey() + ",nope"} {
		if _, err := tokenbox.Parse(list); err == nil {
			t.Errorf("Parse(%q) accepted", list)
		}
	}
}
