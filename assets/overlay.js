// The OBS overlay: each alert from the stream plays once, one at a time, then hides. Where a
// reload of the browser source (which the browser's own reconnect does not cover) resumes is kept
// in localStorage: before the oldest alert still waiting, else after every event the server dealt
// with (played, cleared, dropped, or skipped because its type was off), so that a reload replays
// nothing already shown or meant not to show.
//
// The queue lives here. The streamer's rules for heavy traffic (sent with the page and again in
// a "settings" event whenever they are saved) bound it: at most rules.max alerts wait (the
// oldest waiting is dropped and counted), an alert shows at most rules.busy_ms while others
// wait, and waiting alerts the server marked "combine" play as one per type. The page reports
// its queue to the server (POST data-state-url) on each change, at most once a second, and every
// 10 s besides, so that the dashboard shows it.
//
// What the page does is announced as DOM events on document ("tev:played" with the alert,
// "tev:control" with the command, "tev:settings" with new settings): free when nobody listens,
// which is every OBS source. The browser tests listen. Nothing here keeps a growing record of a
// long stream.
(() => {
  "use strict";
  const body = document.body;
  const box = document.querySelector('[data-testid="alert"]');
  const { show, hide } = renderer(box);
  const key = body.dataset.storageKey;
  const showMs = Number(body.dataset.alertMs) || 5000;
  const queue = [];
  let busy = false;
  let paused = false;
  let timer = 0; // the current alert's end
  let startedAt = 0; // when the current alert began
  let endsAt = 0; // when it ends
  let dropped = 0; // by rules.max, since the page loaded
  let rules = parseJSON(body.dataset.queueRules) || {};
  let source = null; // the stream; none in the preview
  let seen = 0; // the newest event id the server sent or skipped
  let saved = -1; // the resume point last kept in localStorage
  let sentAt = 0; // when the queue was last reported
  let pending = 0; // a report waiting for its second

  const announce = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));

  // The streamer's CSS, as a <style> element's text: never parsed as HTML. Saving new CSS
  // replaces the text.
  const style = document.createElement("style");
  style.textContent = body.dataset.customCss || "";
  document.head.append(style);

  // The dashboard's preview: one sample alert, over and over, and no stream.
  if (body.dataset.preview) {
    const sample = JSON.parse(body.dataset.preview);
    const loop = () => { queue.push(sample); next(); };
    loop();
    setInterval(() => { if (!busy && queue.length === 0) loop(); }, 500);
    return;
  }

  seen = Number(localStorage.getItem(key)) || 0;
  const url = body.dataset.streamUrl + (seen > 0 ? "?after=" + seen : "");
  source = new EventSource(url);
  source.onopen = () => { body.dataset.state = "live"; report(); };
  source.onerror = () => {
    // CLOSED: the server refused (a rotated URL answers 404); the browser will not retry.
    body.dataset.state = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
  };
  // This page's name in the reports: the dashboard tells two open overlays apart.
  const pageID = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
  setInterval(report, 10000);
  source.addEventListener("alert", (e) => {
    const a = JSON.parse(e.data);
    seen = Math.max(seen, a.id);
    if (!combined(a)) queue.push(a);
    trim();
    shorten();
    queued();
    next();
  });
  // An event that does not play (its type is off): a reload must not play it either.
  source.addEventListener("skip", (e) => {
    seen = Math.max(seen, Number(e.data) || 0);
    save();
  });
  // The dashboard's queue buttons. Pause holds the queue (the alert on screen finishes);
  // skip ends the alert on screen; clear drops every alert still waiting.
  source.addEventListener("control", (e) => {
    switch (e.data) {
      case "pause": paused = true; break;
      case "resume": paused = false; next(); break;
      case "skip": if (busy) { clearTimeout(timer); done(); } break;
      case "clear": queue.length = 0; break;
    }
    body.dataset.paused = String(paused);
    queued();
    announce("tev:control", e.data);
  });
  // Saved settings that the page applies itself: the custom CSS and the queue rules.
  source.addEventListener("settings", (e) => {
    const s = JSON.parse(e.data);
    style.textContent = s.css;
    rules = s.queue || {};
    trim();
    shorten();
    queued();
    announce("tev:settings", s);
  });

  function parseJSON(text) {
    try { return JSON.parse(text); } catch { return null; }
  }

  // combined folds alert a into a waiting alert of its type, when the rules combine them.
  function combined(a) {
    const text = rules.combine && a.combine && rules.combine[a.type];
    const into = text && queue.find((w) => w.type === a.type && w.combine);
    if (!into) return false;
    into.first = into.first || into.id; // a reload resumes before the oldest it holds
    into.count = (into.count || 1) + 1;
    into.amount = (into.amount || 0) + (a.amount || 0);
    into.id = Math.max(into.id, a.id); // played, it stands for both: neither replays
    into.user = "";
    into.detail = "";
    into.text = text.replace("{n}", into.count.toLocaleString("en-US")).replace("{amount}", into.amount.toLocaleString("en-US"));
    delete into.line;
    // The sum plays as that amount does: the last step of the server's growth table it reaches.
    const step = (into.grow || []).filter((s) => s.min <= into.amount).pop();
    if (step) {
      into.style = step.style;
      into.duration_ms = step.duration_ms || 0;
    }
    return true;
  }

  // trim drops the oldest waiting alerts past rules.max.
  function trim() {
    while (rules.max > 0 && queue.length > rules.max) {
      dropped += queue.shift().count || 1;
    }
  }

  // lengthOf is how long a plays, with others waiting behind it or not.
  function lengthOf(a, othersWait) {
    const d = a.duration_ms || showMs;
    return othersWait && rules.busy_ms > 0 ? Math.min(d, rules.busy_ms) : d;
  }

  // shorten ends the alert on screen early when others wait and the rules say so.
  function shorten() {
    if (!busy || queue.length === 0 || !(rules.busy_ms > 0) || endsAt <= startedAt + rules.busy_ms) return;
    clearTimeout(timer);
    endsAt = startedAt + rules.busy_ms;
    timer = setTimeout(done, Math.max(0, endsAt - Date.now()));
  }

  function queued() {
    body.dataset.queued = String(queue.length);
    body.dataset.dropped = String(dropped);
    save();
    report();
  }

  // save keeps where a reload resumes: just before the oldest alert still waiting (it plays after
  // the reload), else after everything seen. Test alerts (id 0) are not stored events.
  function save() {
    if (!source) return;
    const waiting = queue.reduce((m, a) => (a.id > 0 ? Math.min(m, a.first || a.id) : m), Infinity);
    const at = waiting === Infinity ? seen : waiting - 1;
    if (at !== saved) {
      saved = at;
      localStorage.setItem(key, String(at));
    }
  }

  // next plays the first waiting alert, unless one is on screen or the queue is paused.
  function next() {
    if (busy || paused || queue.length === 0) return;
    busy = true;
    const a = queue.shift();
    queued();
    show(a);
    announce("tev:played", { id: a.id, type: a.type, text: box.querySelector(".alert-line").textContent.replace(/\s+/g, " ").trim() });
    startedAt = Date.now();
    const d = lengthOf(a, queue.length > 0);
    endsAt = startedAt + d;
    timer = setTimeout(done, d);
  }

  function done() {
    hide();
    busy = false;
    setTimeout(next, 300);
  }

  // report sends the queue's state at once after a quiet second, else once the second is over.
  function report() {
    if (!source || pending || source.readyState === EventSource.CLOSED) return;
    const wait = sentAt + 1000 - Date.now();
    if (wait > 0) {
      pending = setTimeout(() => { pending = 0; send(); }, wait);
      return;
    }
    send();
  }

  // send posts the queue's state; behind_ms is how long the waiting alerts will take to play.
  function send() {
    sentAt = Date.now();
    const behind = queue.reduce((sum, a, i) => sum + lengthOf(a, i < queue.length - 1), 0);
    const state = { page: pageID, paused, waiting: queue.length, behind_ms: behind, dropped };
    fetch(body.dataset.stateUrl, {
      method: "POST", body: JSON.stringify(state), keepalive: true,
      headers: { "Content-Type": "application/json" },
    }).catch(() => {}); // the next change or heartbeat tries again
  }

  // ---- rendering: show() and hide() ---------------------------------------------------------

  // renderer draws alerts in box. It is a hoisted function: the queue above uses it at once.
  function renderer(box) {
    const line = box.querySelector(".alert-line");
    const detail = box.querySelector(".alert-detail");
    const image = box.querySelector(".alert-image");
    const sound = document.querySelector(".alert-sound");
    let leaving = 0; // the exit animation's end
    // The dashboard's preview loops one sample: its sound plays the first time only.
    const preview = Boolean(document.body.dataset.preview);
    let previewSounded = false;

    // Every state is on the one box and its one image and audio element: nothing grows.
    image.addEventListener("load", () => { box.dataset.image = "loaded"; });
    image.addEventListener("error", () => { box.dataset.image = "failed"; image.hidden = true; box.dataset.layout = "above"; });
    sound.addEventListener("playing", () => { box.dataset.sound = "playing"; });
    sound.addEventListener("ended", () => { box.dataset.sound = "ended"; });

    // Only our own paths and https URLs the streamer entered (the server checked them too).
    const safeURL = (u) => typeof u === "string" && (/^\/[^/\\]/.test(u) || /^https:\/\//.test(u)) ? u : "";
    const colour = (c, def) => /^#[0-9a-f]{6}$/i.test(c || "") ? c : def;
    const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const dark = (hex) => { const [r, g, b] = rgb(hex); return 0.299 * r + 0.587 * g + 0.114 * b < 128; };

    // show puts alert a in the box: its words (a template's line is segments: text, and the names
    // it highlights), its image and sound, layout, colours and size, and a bigger treatment for a
    // big event. Text is only ever set as text, never as HTML.
    function show(a) {
      clearTimeout(leaving);
      box.classList.remove("leaving", "playing");
      line.replaceChildren(...(a.line || [{ user: a.user || "" }, " ", { text: a.text || "" }]).map(segment));
      detail.textContent = a.detail || "";
      const st = a.style || {};
      box.dataset.type = a.type;
      box.dataset.id = String(a.id);
      const img = safeURL(st.image);
      // Beside what? With no image the text is centred, as above.
      box.dataset.layout = st.layout === "beside" && img !== "" ? "beside" : "above";
      box.dataset.level = String(Math.min(3, Math.max(0, Number(st.level) || 0)));
      box.dataset.tier = String(Number(st.tier) || 0);
      const text = colour(st.text_color, "#efeff1");
      box.style.setProperty("--alert-text", text);
      box.dataset.text = dark(text) ? "dark" : "light";
      box.style.setProperty("--alert-name", colour(st.name_color, "#bf94ff"));
      // Opaque: nothing of the game shows through the box.
      box.style.setProperty("--alert-bg", colour(st.background, "#18181b"));
      box.style.setProperty("--alert-font", String(Math.min(160, Math.max(16, Number(st.font_size) || 44))));

      delete box.dataset.image;
      image.hidden = img === "";
      if (img === "") image.removeAttribute("src");
      else if (image.getAttribute("src") !== img) image.src = img;
      else if (image.complete && image.naturalWidth > 0) box.dataset.image = "loaded";

      const snd = safeURL(st.sound);
      delete box.dataset.sound;
      sound.pause();
      if (snd !== "" && !(preview && previewSounded)) {
        previewSounded = preview;
        if (sound.getAttribute("src") !== snd) sound.src = snd;
        sound.volume = Math.min(1, Math.max(0, Number(st.volume) || 0));
        sound.currentTime = 0;
        // OBS plays it (its browser source allows sound without a click); a browser that blocks
        // autoplay says so here instead of throwing.
        sound.play().catch((err) => { if (err.name === "NotAllowedError") box.dataset.sound = "blocked"; });
      }
      box.hidden = false;
      void box.offsetWidth; // restart the enter animation
      box.classList.add("playing");
    }

    // segment is one part of the alert's line: a name (highlighted), a text, or a plain space.
    function segment(p) {
      if (typeof p === "string") return document.createTextNode(p);
      const el = document.createElement(p.user !== undefined ? "strong" : "span");
      el.className = p.user !== undefined ? "alert-user" : "alert-text";
      el.textContent = p.user !== undefined ? p.user : (p.text || "");
      return el;
    }

    // hide takes the alert off screen with its exit animation, and stops its sound.
    function hide() {
      sound.pause();
      box.classList.remove("playing");
      box.classList.add("leaving");
      const reduced = matchMedia("(prefers-reduced-motion: reduce)").matches;
      leaving = setTimeout(() => { box.classList.remove("leaving"); box.hidden = true; }, reduced ? 0 : 280);
    }

    return { show, hide };
  }
})();
