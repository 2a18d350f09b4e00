// Package assets embeds the vendored static files (htmx, its SSE extension, the stylesheet, the
// favicon, the page scripts, and the overlay's default alert images and sounds) and serves them
// under content-hashed names so browsers can cache them forever.
package assets

//go:generate go run ./gen alerts

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed *.js *.css *.svg alerts/*.svg alerts/*.wav
var files embed.FS

// contentTypes are those the system's MIME table may lack or name differently.
var contentTypes = map[string]string{".wav": "audio/wav", ".svg": "image/svg+xml"}

type asset struct {
	body        []byte
	contentType string
}

// Catalog maps logical names (htmx.min.js) to hashed URLs and serves them.
type Catalog struct {
	prefix string
	urls   map[string]string // logical name -> URL
	byURL  map[string]asset  // hashed file name -> content
}

// New hashes every embedded file once; prefix is the URL path the catalog is mounted under.
func New(prefix string) (*Catalog, error) {
	c := &Catalog{prefix: strings.TrimSuffix(prefix, "/"), urls: map[string]string{}, byURL: map[string]asset{}}
	err := fs.WalkDir(files, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("assets: read %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		c.urls[name] = c.prefix + "/" + hashed
		typ, ok := contentTypes[ext]
		if !ok {
			typ = mime.TypeByExtension(ext)
		}
		c.byURL[hashed] = asset{body: body, contentType: typ}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assets: list: %w", err)
	}
	return c, nil
}

// URL returns the cache-busting URL of a logical asset name; it panics on a name that is not
// embedded, which is a programming error caught by any test that renders a page.
func (c *Catalog) URL(name string) string {
	u, ok := c.urls[name]
	if !ok {
		panic("assets: unknown asset " + name)
	}
	return u
}

// ServeHTTP serves a hashed file with a year-long immutable cache lifetime.
func (c *Catalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, under := strings.CutPrefix(r.URL.Path, c.prefix+"/")
	a, ok := c.byURL[name]
	if !ok || !under {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(a.body)
}
