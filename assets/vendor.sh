#!/usr/bin/env bash
# Re-vendors htmx and its SSE extension from the npm registry. Run by hand when upgrading;
# the files are committed, so neither CI nor a fresh clone needs npm.
# htmx stays on 2.0.x: npm's latest (4.x) breaks htmx-ext-sse.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent htmx.org@2.0.11 htmx-ext-sse@2.2.4 >/dev/null)
tar -xzf "$tmp"/htmx.org-2.0.11.tgz -C "$tmp" package/dist/htmx.min.js
cp "$tmp"/package/dist/htmx.min.js htmx.min.js
rm -rf "$tmp"/package
tar -xzf "$tmp"/htmx-ext-sse-2.2.4.tgz -C "$tmp" package/dist/sse.min.js
cp "$tmp"/package/dist/sse.min.js htmx-ext-sse.min.js
