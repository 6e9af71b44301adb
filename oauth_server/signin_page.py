"""The sign-in page: the request as a deep link and a QR code, the short code, and a
script that polls for the outcome and continues to ``next``.

The QR code (ISO/IEC 18004) is drawn by segno as inline SVG, so the page loads nothing
but its own script (``/signin/script.js``) under a policy allowing only the hub
itself (``notary_hub.security_headers``). Every value is HTML-escaped; the script
reads its parameters from ``data-`` attributes, never from inline code.
"""

from __future__ import annotations

from html import escape

import segno

from oauth_server.signin import SIGNIN_PATH, StartedSignin

SCRIPT_PATH = SIGNIN_PATH + "/script.js"

# Polls the status route once a second with the browser's cookies; continues to the
# page's ``next`` (a same-origin path the hub validated) once signed in.
POLL_SCRIPT = """\
"use strict";
(function () {
  const root = document.getElementById("signin");
  const status = document.getElementById("status");
  const url = root.dataset.status;
  const next = root.dataset.next;
  async function poll() {
    let answer;
    try {
      answer = await fetch(url, {credentials: "same-origin", cache: "no-store"});
    } catch (e) {
      setTimeout(poll, 2000);
      return;
    }
    const body = await answer.json().catch(() => ({}));
    if (answer.ok && (body.status === "signed_in" || body.status === "completed")) {
      status.textContent = "Signed in. Continuing\u2026";
      window.location.assign(next);
      return;
    }
    if (!answer.ok) {
      status.textContent = body.message || "This sign-in can no longer complete.";
      return;
    }
    if (body.status === "fetched") {
      status.textContent = "Your wallet opened the request. Check that it shows the code above.";
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
"""


def qr_svg(payload: str) -> str:
    """The payload as an inline SVG QR code (error correction M, the wallet's camera)."""
    return str(segno.make(payload, error="m", micro=False).svg_inline(scale=4, title="sign-in"))


def signin_html(started: StartedSignin, status_url: str) -> str:
    link = escape(started.deep_link, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in with your DID wallet</title>
</head>
<body>
<main id="signin" data-status="{escape(status_url, quote=True)}"
      data-next="{escape(started.next_path, quote=True)}">
<h1>Sign in with your DID wallet</h1>
<p>Scan this code with your wallet, or open the link on this device.</p>
<figure id="qr">{qr_svg(started.deep_link)}</figure>
<p><a id="deep-link" href="{link}">Open in your wallet</a></p>
<p>Your wallet must show this code: <strong id="code">{escape(started.code)}</strong></p>
<p>If it shows another code, do not continue: someone else started that request.</p>
<p id="status" role="status">Waiting for your wallet\u2026</p>
</main>
<script src="{SCRIPT_PATH}"></script>
</body>
</html>
"""
