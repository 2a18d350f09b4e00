// The dashboard's few lines of plain script. The page works without it (times in UTC, every
// panel as the server rendered it); with it: times in the viewer's zone and relative while recent,
// a live list that keeps a bounded number of rows, the live badge, a Copy button, setup panels
// that stay open once opened, and no request that fails without a word.
(() => {
  "use strict";
  document.documentElement.classList.add("js"); // styles that only make sense with this script

  // ---- times --------------------------------------------------------------------------------
  const absolute = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

  // timeText is "just now", "2 min ago", "3 hr ago" for the last 12 hours, then the local date and time.
  function timeText(at, now) {
    const s = Math.round((now - at) / 1000);
    if (s < 45) return "just now";
    if (s < 3600) return relative.format(-Math.round(s / 60), "minute");
    if (s < 12 * 3600) return relative.format(-Math.round(s / 3600), "hour");
    return absolute.format(at);
  }

  function localTimes(root) {
    const now = Date.now();
    for (const t of root.querySelectorAll("time[datetime]")) {
      const at = new Date(t.getAttribute("datetime"));
      if (isNaN(at)) continue;
      t.textContent = timeText(at, now);
      t.title = full.format(at);
      t.dataset.local = "1";
    }
  }

  // ---- the live list ------------------------------------------------------------------------
  // bound drops the oldest rows past data-max-rows when a live row arrived, and points a new
  // "Older events" pager at the last row kept, so that nothing between is skipped.
  function bound(list) {
    const max = Number(list.dataset.maxRows) || 0;
    const rows = list.querySelectorAll(":scope > .event");
    if (max <= 0 || rows.length <= max) return;
    for (let i = max; i < rows.length; i++) rows[i].remove();
    const last = rows[max - 1];
    const base = list.dataset.olderUrl;
    list.querySelector(":scope > #pager")?.remove();
    if (!base || !last.dataset.cursor) return;
    const li = document.createElement("li");
    li.className = "pager";
    li.id = "pager";
    const b = document.createElement("button");
    b.className = "btn";
    b.textContent = "Older events";
    b.dataset.testid = "older";
    b.setAttribute("hx-get", base + (base.includes("?") ? "&" : "?") + "before=" + encodeURIComponent(last.dataset.cursor));
    b.setAttribute("hx-target", "#pager");
    b.setAttribute("hx-swap", "outerHTML");
    li.append(b);
    list.append(li);
    htmx.process(li);
  }

  function watchList() {
    const list = document.getElementById("event-list");
    if (!list) return;
    new MutationObserver((records) => {
      let arrived = false;
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n.nodeType !== 1) continue;
          localTimes(n.matches("time") ? n.parentNode : n);
          if (n.classList.contains("arrived")) arrived = true;
        }
      }
      if (arrived) bound(list);
    }).observe(list, { childList: true });
  }

  // ---- the stream and the session -----------------------------------------------------------
  const sources = [];
  if (window.htmx && htmx.createEventSource) {
    const make = htmx.createEventSource;
    htmx.createEventSource = (url) => {
      const s = make(url);
      sources.push(s);
      return s;
    };
  }

  function liveState(state) {
    const badge = document.getElementById("live-status");
    if (badge && badge.dataset.state !== "ended") badge.dataset.state = state;
  }

  // sessionEnded stops every stream and poll of the page and says so, with a way to sign in
  // again. The queue bar goes: its state would go stale and its buttons cannot work any more.
  let ended = false;
  function sessionEnded() {
    ended = true;
    liveState("ended");
    for (const s of sources) s.close();
    const n = document.getElementById("session-notice");
    if (n) n.hidden = false;
    const q = document.getElementById("overlay-queue");
    if (q) q.hidden = true;
  }

  function problem(text) {
    let p = document.getElementById("problem");
    if (!p) {
      p = document.createElement("p");
      p.id = "problem";
      p.className = "toast";
      p.setAttribute("role", "alert");
      p.dataset.testid = "problem";
      document.body.append(p);
    }
    p.textContent = text;
    p.hidden = false;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => { p.hidden = true; }, 8000);
  }

  document.addEventListener("htmx:sseOpen", () => liveState("live"));
  document.addEventListener("htmx:sseError", () => liveState("reconnecting"));
  document.addEventListener("htmx:sseClose", (e) => {
    if (e.detail && e.detail.type === "message") sessionEnded(); // the server's "signed-out"
  });
  // A request whose session is gone gets 401 with HX-Redirect to the start page. htmx would
  // follow it, and a poll (the queue bar's) would take the page away from the "session ended"
  // notice within seconds: stay, and say so instead.
  document.addEventListener("htmx:beforeOnLoad", (e) => {
    if (e.detail.xhr.status === 401) {
      e.preventDefault();
      sessionEnded();
    }
  });
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (ended && e.detail.elt.id === "overlay-queue") e.preventDefault();
  });
  document.addEventListener("htmx:responseError", (e) => {
    const x = e.detail.xhr;
    if (x.status === 401 || x.status === 403) {
      sessionEnded(); // signed out elsewhere: the page's session (and its CSRF token) is gone
      return;
    }
    problem((x.responseText || "").trim() || "Something went wrong (" + x.status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", () => problem("The app did not answer. Check your connection and try again."));

  // ---- setup panels -------------------------------------------------------------------------
  // A panel the streamer opened stays open across reloads and in-place updates of this tab; one
  // the server opened (a problem, a new overlay URL) is never closed by the script. A checklist
  // link opens its panel for the step at hand only: once set up, the panels fold away again.
  const openKey = (id) => "tev-open-" + id;
  function remember(d, open) {
    try {
      if (open) sessionStorage.setItem(openKey(d.id), "1");
      else sessionStorage.removeItem(openKey(d.id));
    } catch (_) { /* storage off: panels open as the server says */ }
  }
  function reopen(root) {
    for (const d of root.querySelectorAll("details[data-remember][id]")) {
      try {
        if (sessionStorage.getItem(openKey(d.id)) === "1") d.open = true;
      } catch (_) { return; }
    }
  }
  function openTarget(hash) {
    const d = hash && hash.length > 1 && document.getElementById(hash.slice(1));
    if (d && d.tagName === "DETAILS") d.open = true;
  }
  document.addEventListener("click", (e) => {
    const summary = e.target.closest("details[data-remember] > summary");
    if (summary) remember(summary.parentElement, !summary.parentElement.open);
    const link = e.target.closest("a[data-open]");
    if (link) openTarget(link.dataset.open);
    const copy = e.target.closest("[data-copy]");
    if (copy) copyFrom(copy);
  });
  // A plain form with data-confirm asks first (htmx forms use hx-confirm): no inline script.
  document.addEventListener("submit", (e) => {
    const msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !confirm(msg)) e.preventDefault();
  });
  window.addEventListener("hashchange", () => openTarget(location.hash));
  document.addEventListener("htmx:afterSettle", (e) => reopen(e.detail.elt.parentNode || document));

  // ---- forms that answer with their errors ------------------------------------------------
  // A form marked data-errors-inline answers a refused value with itself, errors beside the
  // fields (status 400): swapped in like a success, not a failed request.
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 400 && e.detail.target.closest && e.detail.target.closest("[data-errors-inline]")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // ---- the overlay preview ------------------------------------------------------------------
  // The preview frame holds a 1920×1080 page, as OBS shows it, scaled to the frame's width.
  const fit = window.ResizeObserver && new ResizeObserver((entries) => {
    for (const en of entries) en.target.style.setProperty("--preview-scale", String(en.target.clientWidth / 1920));
  });
  function fitPreviews(root) {
    if (fit) for (const f of root.querySelectorAll(".overlay-preview-frame")) fit.observe(f);
  }
  document.addEventListener("htmx:afterSettle", (e) => fitPreviews(e.detail.elt.parentNode || document));
  // The frame shows its hint until a preview has loaded in it (load does not bubble: capture).
  document.addEventListener("load", (e) => {
    const f = e.target;
    if (f.matches && f.matches("iframe.overlay-preview") && f.contentWindow.location.href !== "about:blank") {
      f.parentElement.classList.add("shown");
    }
  }, true);

  // ---- copy ---------------------------------------------------------------------------------
  function copyFrom(button) {
    const src = document.querySelector(button.dataset.copy);
    if (!src) return;
    const say = (text) => {
      const out = button.parentNode.querySelector(".copy-state");
      if (out) out.textContent = text;
    };
    const text = (src.value ?? src.textContent).trim();
    const fallback = () => {
      const r = document.createRange();
      r.selectNodeContents(src);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { /* not allowed */ }
      say(ok ? "Copied" : "Selected: press Ctrl+C (⌘C) to copy");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => say("Copied"), fallback);
    } else {
      fallback();
    }
  }

  function start() {
    localTimes(document);
    watchList();
    reopen(document);
    fitPreviews(document);
    openTarget(location.hash);
    setInterval(() => localTimes(document), 30000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
