// The OBS overlay: each alert from the stream plays once, one at a time, then hides. The last
// shown id is kept in localStorage, so a reload of the browser source (which the browser's own
// reconnect does not cover) resumes after it and replays nothing already shown.
(() => {
  "use strict";
  const body = document.body;
  const box = document.querySelector('[data-testid="alert"]');
  const key = body.dataset.storageKey;
  const showMs = Number(body.dataset.alertMs) || 5000;
  const queue = [];
  const played = [];
  const log = [];
  let busy = false;

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
    next();
  });

  function next() {
    if (busy || queue.length === 0) return;
    busy = true;
    const a = queue.shift();
    box.querySelector(".alert-user").textContent = a.user;
    box.querySelector(".alert-text").textContent = a.text;
    box.querySelector(".alert-detail").textContent = a.detail;
    box.dataset.type = a.type;
    box.dataset.id = String(a.id);
    box.hidden = false;
    box.classList.add("playing");
    if (a.id > 0) localStorage.setItem(key, String(a.id));
    played.push(a.id);
    log.push((a.user ? a.user + " " : "") + a.text);
    body.dataset.played = played.join(" ");
    body.dataset.playedLog = JSON.stringify(log);
    setTimeout(() => {
      box.classList.remove("playing");
      box.hidden = true;
      busy = false;
      setTimeout(next, 300);
    }, showMs);
  }
})();
