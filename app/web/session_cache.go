package web

import (
	"context"
	"sync"
	"time"

	"github.com/twitch-event-viewer/tev/app/doorbell"
	"github.com/twitch-event-viewer/tev/app/hub"
	"github.com/twitch-event-viewer/tev/app/store"
)

// sessionCacheTTL is how long a looked-up session is believed without asking the database. An
// ended session is forgotten at once on every instance (the doorbell's SessionEnded); the TTL
// only bounds how long a lost signal could let a deleted session work.
const sessionCacheTTL = 10 * time.Second

// sessionCache keeps recently looked-up sessions by token hash, so that a storm of stream
// connects (every tab reconnecting after a deploy) is not a storm of session queries.
type sessionCache struct {
	mu  sync.Mutex
	gen uint64 // counts forgets: a lookup that raced one is not kept
	m   map[string]cachedSession
}

type cachedSession struct {
	sess  store.Session
	until time.Time // wall clock: the cache's own expiry, unlike the session's (the server's clock)
}

func newSessionCache() *sessionCache { return &sessionCache{m: map[string]cachedSession{}} }

// get returns a copy of the cached session, or nil when there is none that is fresh and unexpired.
func (c *sessionCache) get(hash string, now time.Time) *store.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok {
		return nil
	}
	if time.Now().After(e.until) || !e.sess.ExpiresAt.After(now) {
		delete(c.m, hash)
		return nil
	}
	sess := e.sess
	return &sess
}

// generation is read before a lookup and handed to put.
func (c *sessionCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps sess, unless a session was forgotten since gen: the lookup may have read it just
// before it was deleted.
func (c *sessionCache) put(sess *store.Session, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.m[sess.TokenHash] = cachedSession{sess: *sess, until: time.Now().Add(sessionCacheTTL)}
}

// forget drops the session with hash, or with hash "" every session of broadcaster.
func (c *sessionCache) forget(broadcaster, hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if hash != "" {
		delete(c.m, hash)
		return
	}
	for h, e := range c.m {
		if e.sess.BroadcasterID == broadcaster {
			delete(c.m, h)
		}
	}
}

// sweep drops what is stale, so that the cache holds at most the sessions of the last TTL.
func (c *sessionCache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for h, e := range c.m {
		if now.After(e.until) {
			delete(c.m, h)
		}
	}
}

// sessionByTokenHash is the store's lookup behind the cache.
func (s *Server) sessionByTokenHash(ctx context.Context, hash string) (*store.Session, error) {
	now := s.now()
	if sess := s.sessions.get(hash, now); sess != nil {
		return sess, nil
	}
	gen := s.sessions.generation()
	sess, err := s.store.SessionByTokenHash(ctx, hash, now)
	if err != nil {
		return nil, err
	}
	s.sessions.put(sess, gen)
	return sess, nil
}

// forgetSession ends a session whose row is deleted (logout, a new sign-in) or, with hash "",
// every session of broadcaster (account deleted, access revoked): here at once, and on the other
// instances through the doorbell. Cached copies are dropped and open streams end signed out.
func (s *Server) forgetSession(ctx context.Context, broadcaster, hash string) {
	sig := doorbell.Signal{Kind: doorbell.SessionEnded, BroadcasterID: broadcaster, TokenHash: hash}
	s.sessionEnded(sig)
	if err := s.bell.Ring(context.WithoutCancel(ctx), sig); err != nil {
		s.log.Warn("doorbell", "kind", sig.Kind, "broadcaster_id", broadcaster, "err", err)
	}
}

// sessionEnded applies a SessionEnded signal on this instance.
func (s *Server) sessionEnded(sig doorbell.Signal) {
	if sig.BroadcasterID == "" && sig.TokenHash == "" {
		return // names no session: ending every stream is never meant
	}
	s.sessions.forget(sig.BroadcasterID, sig.TokenHash)
	if sig.BroadcasterID != "" {
		s.hub.Signal(sig.BroadcasterID, sig)
		return
	}
	s.hub.Each(func(k hub.Sink) {
		if l, ok := k.(*liveStream); ok {
			l.Signal(sig)
		}
	})
}
