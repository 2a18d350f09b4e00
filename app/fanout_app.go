package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// What fanout asks of the running app, over HTTP as a streamer and an operator would.

// demoSession signs in with the demo flow (the landing page's form and its CSRF token) and
// returns the Cookie header of the new session. The redirect to the dashboard is not followed:
// only the cookie is needed.
func demoSession(ctx context.Context, client *http.Client, base string) (string, error) {
	cookies := map[string]string{}
	keep := func(resp *http.Response) {
		for _, c := range resp.Cookies() {
			cookies[c.Name] = c.Value
		}
	}
	header := func() string {
		var parts []string
		for k, v := range cookies {
			parts = append(parts, k+"="+v)
		}
		return strings.Join(parts, "; ")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("landing page: %w", err)
	}
	keep(resp)
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("landing page: status %d %v", resp.StatusCode, err)
	}
	form := doc.Find(`[data-testid="demo-sign-in"]`).Closest("form")
	action, _ := form.Attr("action")
	token, _ := form.Find(`input[name="csrf_token"]`).Attr("value")
	if action == "" || token == "" {
		return "", errors.New("the landing page has no demo sign-in form: is the app in demo mode (no TWITCH_CLIENT_ID)?")
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+action, strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", header())
	resp, err = client.Do(req)
	if err != nil {
		return "", fmt.Errorf("demo sign-in: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("demo sign-in: status %d, want 303 to the dashboard", resp.StatusCode)
	}
	keep(resp)
	return header(), nil
}

// memory is one reading of the servers' memory, summed over instances (KB; -1: not read).
type memory struct {
	rssKB, heapKB, goroutines int64
}

// readMemory reads VmRSS of pid from /proc, or, with a metrics token, the Prometheus figures
// of every instance.
func readMemory(ctx context.Context, client *http.Client, pid int, token string, targets []*target) (memory, error) {
	m := memory{rssKB: -1, heapKB: -1, goroutines: -1}
	if pid > 0 {
		kb, err := vmRSS(pid)
		if err != nil {
			return m, err
		}
		m.rssKB = kb
	}
	if token == "" {
		return m, nil
	}
	for _, t := range targets {
		vals, err := scrape(ctx, client, t.base+"/metrics", token)
		if err != nil {
			return m, err
		}
		if pid <= 0 {
			m.rssKB = max(m.rssKB, 0) + int64(vals["process_resident_memory_bytes"]/1024)
		}
		m.heapKB = max(m.heapKB, 0) + int64(vals["go_memstats_heap_inuse_bytes"]/1024)
		m.goroutines = max(m.goroutines, 0) + int64(vals["go_goroutines"])
	}
	return m, nil
}

func vmRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("fanout --pid: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("fanout --pid: no VmRSS in /proc/%d/status", pid)
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(ctx context.Context, client *http.Client, u, token string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fanout: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fanout: GET %s: status %d (is METRICS_TOKEN set on the app, and --metrics-token right?)", u, resp.StatusCode)
	}
	vals := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			vals[name] = f
		}
	}
	return vals, sc.Err()
}
