"""The live page (issue 15 item 4, "the remote desktop"): the remote browser's screen and
the controls of a live capture, for its owner's browser.

Server-rendered HTML with every value escaped; its script and style are the hub's own
(``/captures/live-assets/…``, under the policy ``notary_hub.security_headers`` gives
``/captures/{id}/live``: nothing from elsewhere, no inline script). The script opens
``/captures/{id}/live/ws`` (:mod:`.live_socket`): it draws each JPEG frame on a canvas,
sends clicks and wheel turns at the remote viewport's CSS pixels (the canvas is scaled
to the window; the translation is the script's), named keys and typed text (batched),
the address bar (which follows the page's own navigations too), and the buttons; each
answer goes into the page's log. ``data-frames``
on ``#live`` counts the frames drawn and ``data-state`` says where the session is.
"""

from __future__ import annotations

from html import escape

ASSETS = "/captures/live-assets"
SCRIPT_PATH = f"{ASSETS}/live.js"
STYLE_PATH = f"{ASSETS}/live.css"

STYLE = """\
body{margin:0;font:14px system-ui,sans-serif;background:#111826;color:#e6edf6}
header{display:flex;gap:12px;align-items:center;padding:8px 14px;background:#1b2538}
header h1{font-size:1rem;margin:0}header code{color:#9ecbff}
#status{margin-left:auto;font-weight:600;color:#ffd166}
#bar{display:flex;gap:6px;padding:8px 14px}#address{flex:1;font:inherit;padding:5px}
#tools{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px 8px}
button{font:inherit;padding:5px 10px;border-radius:5px;border:1px solid #3b4a66;
background:#24324d;color:#e6edf6;cursor:pointer}button:hover{background:#2f4266}
#end{margin-left:auto;background:#7a2330;border-color:#a33a48}
main{padding:0 14px}
#screen{display:block;width:100%;height:auto;background:#000;outline:2px solid #3b4a66;
cursor:crosshair}#screen:focus{outline-color:#06d6a0}
#log{margin:8px 14px 20px;padding-left:20px;max-height:9em;overflow:auto;font-size:.9em}
#log .refused{color:#ff8fa3}
"""

SCRIPT = """\
"use strict";
(function () {
  const root = document.getElementById("live");
  const screen = document.getElementById("screen");
  const context = screen.getContext("2d");
  const status = document.getElementById("status");
  const address = document.getElementById("address");
  const log = document.getElementById("log");
  const KEYS = new Set(["Enter", "Tab", "Backspace", "Delete", "Escape", "ArrowLeft",
    "ArrowUp", "ArrowRight", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);
  let viewport = {width: screen.width, height: screen.height};
  let nextId = 1, frames = 0, drawing = false, waiting = null, typed = "", typing = 0;
  const labels = new Map();
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + root.dataset.socket);
  socket.binaryType = "blob";

  function setState(state, text) { root.dataset.state = state; status.textContent = text; }
  function note(text, refused) {
    const line = document.createElement("li");
    line.textContent = new Date().toLocaleTimeString() + " " + text;
    if (refused) { line.className = "refused"; }
    log.prepend(line);
  }
  async function draw(blob) {
    if (drawing) { waiting = blob; return; }
    drawing = true;
    try {
      const bitmap = await createImageBitmap(blob);
      if (screen.width !== bitmap.width || screen.height !== bitmap.height) {
        screen.width = bitmap.width; screen.height = bitmap.height;
      }
      context.drawImage(bitmap, 0, 0);
      bitmap.close();
      frames += 1; root.dataset.frames = String(frames);
    } catch (e) { note("a frame could not be drawn", true); }
    drawing = false;
    if (waiting) { const next = waiting; waiting = null; draw(next); }
  }
  function send(type, fields, label) {
    if (type !== "text") { flushText(); }
    if (socket.readyState !== WebSocket.OPEN) { return; }
    const id = nextId++;
    if (label) { labels.set(id, label); }
    socket.send(JSON.stringify(Object.assign({id: id, type: type}, fields || {})));
  }
  function flushText() {
    clearTimeout(typing);
    if (typed) { const text = typed; typed = ""; send("text", {text: text}); }
  }
  function answered(message) {
    const label = labels.get(message.id); labels.delete(message.id);
    if (message.type === "error") {
      note((label || message.error) + " refused: " + message.message, true); return;
    }
    const result = message.result || {};
    if (result.url) { address.value = result.url; }
    if (!label) { return; }
    note(label + (result.path ? ": " + result.path + " (sha256 " +
      result.sha256.slice(0, 16) + "\\u2026)" : result.url ? ": " + result.url : ": done"));
  }
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") { draw(event.data); return; }
    const message = JSON.parse(event.data);
    if (message.type === "hello") {
      viewport = message.viewport; address.value = message.url;
      setState("live", "live"); screen.focus();
    } else if (message.type === "status") { setState(message.state, message.state + "\\u2026");
    } else if (message.type === "url") {
      if (document.activeElement !== address) { address.value = message.url; }
    } else if (message.type === "ended") {
      setState("ended", "ended"); note("The session ended: " + message.outcome +
        ". It is being sealed; its letter comes through the API.");
    } else { answered(message); }
  };
  socket.onclose = (event) => {
    if (event.code === 1008) {
      setState("refused", "refused"); note("Refused: " + event.reason, true);
    }
    else if (root.dataset.state !== "ended") { setState("closed", "disconnected"); }
  };
  function point(event) {
    const box = screen.getBoundingClientRect();
    return {x: Math.round((event.clientX - box.left) * viewport.width / box.width),
            y: Math.round((event.clientY - box.top) * viewport.height / box.height)};
  }
  screen.addEventListener("click", (event) => { screen.focus(); send("click", point(event)); });
  let wheel = 0, wheelAt = null, wheelTimer = 0;
  screen.addEventListener("wheel", (event) => {
    event.preventDefault();
    wheel += event.deltaY; wheelAt = point(event);
    if (!wheelTimer) {
      wheelTimer = setTimeout(() => {
        send("scroll", {x: wheelAt.x, y: wheelAt.y, deltaY: wheel}); wheel = 0; wheelTimer = 0;
      }, 100);
    }
  }, {passive: false});
  screen.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (KEYS.has(event.key)) { event.preventDefault(); send("key", {key: event.key}); return; }
    if (event.key.length === 1) {
      event.preventDefault(); typed += event.key;
      clearTimeout(typing);
      typing = setTimeout(flushText, typed.length >= 200 ? 0 : 80);
    }
  });
  document.getElementById("bar").addEventListener("submit", (event) => {
    event.preventDefault();
    let url = address.value.trim();
    if (url && !/^[a-z][a-z0-9+.-]*:/i.test(url)) { url = "https://" + url; }
    if (url) { send("navigate", {url: url}, "go to " + url); }
  });
  const buttons = {
    shot: () => send("screenshot", {fullPage: false}, "screenshot"),
    full: () => send("screenshot", {fullPage: true}, "full-page screenshot"),
    "clip-start": () => send("clip", {edge: "start"}, "clip start"),
    "clip-end": () => send("clip", {edge: "end"}, "clip end"),
    save: () => {
      const url = prompt("Address of the resource to save (an image, a PDF, a video):",
        address.value);
      if (url) { send("save", {url: url}, "save original"); }
    },
    note: () => {
      const text = prompt("Note for the record:");
      if (text) { send("note", {text: text}, "note"); }
    },
    end: () => {
      if (confirm("End the session? It is then sealed and can no longer be used.")) {
        send("end", {}, "end session");
      }
    },
  };
  for (const [id, act] of Object.entries(buttons)) {
    document.getElementById(id).addEventListener("click", act);
  }
})();
"""


def render_page(capture_id: str, target: str) -> str:
    """The page of live capture ``capture_id``, its address bar showing ``target``."""
    ident = escape(capture_id)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live capture {ident}</title>
<link rel="stylesheet" href="{STYLE_PATH}"></head>
<body><div id="live" data-socket="/captures/{ident}/live/ws" data-state="connecting"
 data-frames="0">
<header><h1>Notary Hub · live capture</h1><code>{ident}</code>
<span id="status" aria-live="polite">connecting…</span></header>
<form id="bar"><input id="address" type="text" inputmode="url" spellcheck="false"
 aria-label="Address" value="{escape(target)}"><button id="go">Go</button></form>
<div id="tools">
<button id="shot" type="button">Screenshot</button>
<button id="full" type="button">Full-page screenshot</button>
<button id="clip-start" type="button">Clip start</button>
<button id="clip-end" type="button">Clip end</button>
<button id="save" type="button">Save original…</button>
<button id="note" type="button">Add note…</button>
<button id="end" type="button">End session</button></div>
<main><canvas id="screen" width="1280" height="800" tabindex="0"
 aria-label="The remote browser: click, scroll and type here"></canvas></main>
<ol id="log"></ol></div>
<script src="{SCRIPT_PATH}"></script></body></html>
"""


def continue_page(capture_id: str) -> str:
    """What spending a ticket answers: the cookie is set; this page moves on to the clean
    address by itself. A 303 would not do: after a link from another site, Chromium sends
    no ``SameSite=Strict`` cookie along the redirect, while a refresh from this page is
    same-site."""
    clean = f"/captures/{escape(capture_id)}/live"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={clean}">
<title>Opening the live capture</title></head>
<body><p>Opening <a href="{clean}">the live capture</a>…</p></body></html>
"""
