// The OBS overlay: each alert from the stream plays once, one at a time, then hides. The last
// shown id is kept in localStorage, so a reload of the browser source (which the browser's own
// reconnect does not cover) resumes after it and replays nothing already shown.
//
// What the page does is announced as DOM events on document ("tev:played" with the alert,
// "tev:control" with the command): free when nobody listens, which is every OBS source. The
// browser tests listen. Nothing here keeps a growing record of a long stream.
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

  const announce = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));

  // The streamer's CSS, as a <style> element's text: never parsed as HTML.
  if (body.dataset.customCss) {
    const style = document.createElement("style");
    style.textContent = body.dataset.customCss;
    document.head.append(style);
  }
  // The dashboard's preview: one sample alert, over and over, and no stream.
  if (body.dataset.preview) {
    const sample = JSON.parse(body.dataset.preview);
    const loop = () => { queue.push(sample); next(); };
    loop();
    setInterval(() => { if (!busy && queue.length === 0) loop(); }, 500);
    return;
  }

  const last = localStorage.getItem(key) || "";
  const url = body.dataset.streamUrl + (/^\d+$/.test(last) ? "?after=" + last : "");
  const source = new EventSource(url);
  source.onopen = () => { body.dataset.state = "live"; };
  source.onerror = () => {
    // CLOSED: the server refused (a rotated URL answers 404); the browser will not retry.
    body.dataset.state = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
  };
  source.addEventListener("alert", (e) => {
    queue.push(JSON.parse(e.data));
    queued();
    next();
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

  function queued() { body.dataset.queued = String(queue.length); }

  // next plays the first waiting alert, unless one is on screen or the queue is paused.
  function next() {
    if (busy || paused || queue.length === 0) return;
    busy = true;
    const a = queue.shift();
    queued();
    show(a);
    if (a.id > 0) localStorage.setItem(key, String(a.id));
    announce("tev:played", { id: a.id, type: a.type, text: box.querySelector(".alert-line").textContent.replace(/\s+/g, " ").trim() });
    timer = setTimeout(done, a.duration_ms || showMs);
  }

  function done() {
    hide();
    busy = false;
    setTimeout(next, 300);
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
    image.addEventListener("error", () => { box.dataset.image = "failed"; image.hidden = true; });
    sound.addEventListener("playing", () => { box.dataset.sound = "playing"; });
    sound.addEventListener("ended", () => { box.dataset.sound = "ended"; });

    // Only our own paths and https URLs the streamer entered (the server checked them too).
    const safeURL = (u) => typeof u === "string" && (/^\/[^/\\]/.test(u) || /^https:\/\//.test(u)) ? u : "";
    const colour = (c, def) => /^#[0-9a-f]{6}$/i.test(c || "") ? c : def;
    const rgba = (hex, alpha) => "rgba(" + [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ") + ", " + alpha + ")";

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
      box.dataset.layout = st.layout === "beside" ? "beside" : "above";
      box.dataset.level = String(Math.min(3, Math.max(0, Number(st.level) || 0)));
      box.dataset.tier = String(Number(st.tier) || 0);
      box.style.setProperty("--alert-text", colour(st.text_color, "#efeff1"));
      box.style.setProperty("--alert-name", colour(st.name_color, "#bf94ff"));
      box.style.setProperty("--alert-bg", rgba(colour(st.background, "#18181b"), 0.97));
      box.style.setProperty("--alert-font", String(Math.min(160, Math.max(16, Number(st.font_size) || 44))));

      const img = safeURL(st.image);
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
