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

  // show puts alert a in the box.
  // A template's line is segments: text, and the names it highlights. Text only, never HTML.
  function show(a) {
    const parts = a.line || [{ user: a.user || "" }, " ", { text: a.text || "" }];
    box.querySelector(".alert-line").replaceChildren(...parts.map(segment));
    box.querySelector(".alert-detail").textContent = a.detail || "";
    box.dataset.type = a.type;
    box.dataset.id = String(a.id);
    box.hidden = false;
    box.classList.add("playing");
  }

  // segment is one part of the alert's line: a name (highlighted), a text, or a plain space.
  function segment(p) {
    if (typeof p === "string") return document.createTextNode(p);
    const el = document.createElement(p.user !== undefined ? "strong" : "span");
    el.className = p.user !== undefined ? "alert-user" : "alert-text";
    el.textContent = p.user !== undefined ? p.user : p.text;
    return el;
  }

  // hide takes the alert off screen.
  function hide() {
    box.classList.remove("playing");
    box.hidden = true;
  }
})();
