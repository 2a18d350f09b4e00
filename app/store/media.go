package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Media is an image or sound a streamer uploaded for their alerts.
type Media struct {
	bun.BaseModel `bun:"table:overlay_media"`

	ID            string    `bun:"id,pk"` // random; the overlay page loads it without a session
	BroadcasterID string    `bun:"broadcaster_id,notnull"`
	ContentType   string    `bun:"content_type,notnull"`
	SHA256        string    `bun:"sha256,notnull"`
	Data          []byte    `bun:"data,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

// SaveMedia stores an upload.
func (s *Store) SaveMedia(ctx context.Context, m *Media) error {
	m.CreatedAt = m.CreatedAt.UTC()
	if _, err := s.db.NewInsert().Model(m).Exec(ctx); err != nil {
		return fmt.Errorf("store: save media of %s: %w", m.BroadcasterID, err)
	}
	return nil
}

// MediaByID finds an upload with its bytes (ErrNotFound: none).
func (s *Store) MediaByID(ctx context.Context, id string) (*Media, error) {
	m := new(Media)
	if err := s.db.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "store: media %s", id)
	}
	return m, nil
}

// MediaIDsOf lists a streamer's uploads by id.
func (s *Store) MediaIDsOf(ctx context.Context, broadcasterID string) (map[string]bool, error) {
	var ids []string
	if err := s.db.NewSelect().Model((*Media)(nil)).Column("id").Where("broadcaster_id = ?", broadcasterID).Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("store: media of %s: %w", broadcasterID, err)
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m, nil
}

// DeleteMediaExcept deletes a streamer's uploads that are not in keep: those no alert uses any more.
func (s *Store) DeleteMediaExcept(ctx context.Context, broadcasterID string, keep []string) error {
	q := s.db.NewDelete().Model((*Media)(nil)).Where("broadcaster_id = ?", broadcasterID)
	if len(keep) > 0 {
		q = q.Where("id NOT IN (?)", bun.In(keep))
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("store: delete unused media of %s: %w", broadcasterID, err)
	}
	return nil
}
