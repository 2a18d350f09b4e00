// Package tokenbox seals OAuth tokens for storage with AES-256-GCM. A Box holds one current key,
// which seals, and any number of previous keys, which still open: rotating TOKEN_KEY means putting
// the new key first and the old one after it until every token has been sealed again.
package tokenbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey means a sealed value was made with a key the Box does not hold.
var ErrUnknownKey = errors.New("tokenbox: sealed with a key that is not configured")

// ErrCorrupt means a sealed value is malformed or was altered.
var ErrCorrupt = errors.New("tokenbox: sealed value is corrupt or was altered")

const version = "v1"

type key struct {
	id   string // first 4 bytes of the key's SHA-256, hex: names the key without revealing it
	aead cipher.AEAD
}

// Box seals with its first key and opens with any of them.
type Box struct {
	keys []key
}

// Parse reads a comma-separated list of base64 keys of 32 bytes each; the first is current.
func Parse(list string) (*Box, error) {
	var b Box
	for i, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		raw, err := decodeKey(part)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(raw)
		b.keys = append(b.keys, key{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	return &b, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != 32 {
				return nil, fmt.Errorf("must decode to 32 bytes, got %d", len(raw))
			}
			return raw, nil
		}
	}
	return nil, errors.New("must be base64 (generate one with: openssl rand -base64 32)")
}

// NewKey returns a fresh random key in the format Parse reads.
func NewKey() string {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	return base64.StdEncoding.EncodeToString(raw)
}

// Seal encrypts plaintext with the current key. The empty string stays empty: "no token".
// ad binds the value to its owner and purpose (e.g. "access:<user id>"), so a sealed token
// copied into another row does not open.
func (b *Box) Seal(plaintext, ad string) string {
	if plaintext == "" {
		return ""
	}
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(ad))
	return version + ":" + k.id + ":" + base64.RawStdEncoding.EncodeToString(sealed)
}

// Open decrypts a value made by Seal with any configured key.
func (b *Box) Open(sealed, ad string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != version {
		return "", ErrCorrupt
	}
	for _, k := range b.keys {
		if k.id != parts[1] {
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(parts[2])
		if err != nil || len(raw) < k.aead.NonceSize() {
			return "", ErrCorrupt
		}
		plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(ad))
		if err != nil {
			return "", ErrCorrupt
		}
		return string(plain), nil
	}
	return "", ErrUnknownKey
}

// Stale reports whether sealed was made with a key other than the current one, and should be
// sealed again.
func (b *Box) Stale(sealed string) bool {
	parts := strings.SplitN(sealed, ":", 3)
	return sealed != "" && (len(parts) != 3 || parts[1] != b.keys[0].id)
}
