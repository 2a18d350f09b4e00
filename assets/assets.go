// Package assets embeds the vendored static files (htmx, its SSE extension, the stylesheet, the
// favicon and the page scripts) and serves them under content-hashed names so browsers can cache them forever.
package assets

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

//go:embed *.js *.css *.svg
var files embed.FS

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
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("assets: list: %w", err)
	}
	for _, e := range entries {
		body, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("assets: read %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		c.urls[e.Name()] = c.prefix + "/" + hashed
		c.byURL[hashed] = asset{body: body, contentType: mime.TypeByExtension(ext)}
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
	a, ok := c.byURL[path.Base(r.URL.Path)]
	if !ok || !strings.HasPrefix(r.URL.Path, c.prefix+"/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(a.body)
}
