"""The draw's public page (issue 14 item 10): configuration, commitments, the countdown to
the beacon round, the live reveal for the big screen, the winners, a receipt check.

Server-rendered HTML with every value escaped; the page loads only its own script and
style from the hub (``/draws/page-assets/…``, under the policy
``notary_hub.security_headers`` gives it) and reads its parameters from ``data-``
attributes. The script counts down to the round, follows ``GET /draws/{id}/events``
(Server-Sent Events: the state, then the seed, then the winners tier by tier), pages
through ``/winners`` and checks a pasted receipt with ``POST /draws/{id}/check``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

ASSETS = "/draws/page-assets"
SCRIPT_PATH = f"{ASSETS}/draw.js"
STYLE_PATH = f"{ASSETS}/draw.css"

STYLE = """\
body{font-family:system-ui,sans-serif;margin:0;background:#0e1726;color:#e8eef7}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:2.2rem;margin:.2em 0}h2{font-size:1.3rem;border-bottom:1px solid #33415c}
code{font-size:.85rem;word-break:break-all;color:#9ecbff}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.card{background:#16223a;border-radius:10px;padding:14px 18px}
#countdown{font-size:3rem;font-variant-numeric:tabular-nums;color:#ffd166}
#seed{font-size:1.1rem;color:#06d6a0}
#reveal li{font-size:1.3rem;padding:4px 0;animation:in .4s ease-out}
@keyframes in{from{opacity:0;transform:translateY(8px)}to{opacity:1}}
.tier{color:#ffd166;font-weight:600}table{width:100%;border-collapse:collapse}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #26324a}
textarea{width:100%;height:90px;background:#0e1726;color:#e8eef7}
#outcome{font-weight:600;margin-top:8px}
"""

SCRIPT = """\
"use strict";
(function () {
  const root = document.getElementById("draw");
  const base = root.dataset.base;
  const tiers = JSON.parse(root.dataset.tiers);
  const roundTime = Date.parse(root.dataset.roundTime);
  const countdown = document.getElementById("countdown");
  const state = document.getElementById("state");
  const seed = document.getElementById("seed");
  const reveal = document.getElementById("reveal");
  let drawn = root.dataset.state === "drawn";
  function tick() {
    if (drawn) { countdown.textContent = "drawn"; return; }
    const left = Math.max(0, Math.round((roundTime - Date.now()) / 1000));
    const h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    countdown.textContent = left ? [h, m, s].map(v => String(v).padStart(2, "0")).join(":")
                                 : "round published";
  }
  tick(); setInterval(tick, 1000);
  function tierName(t) { return t ? tiers[t - 1] : "waiting list"; }
  const events = new EventSource(base + "/events");
  events.addEventListener("state", e => { state.textContent = JSON.parse(e.data).state; });
  events.addEventListener("seed", e => {
    const d = JSON.parse(e.data);
    seed.textContent = d.seed;
    document.getElementById("round").textContent = d.round;
    reveal.textContent = "";
  });
  events.addEventListener("winner", e => {
    const w = JSON.parse(e.data);
    const li = document.createElement("li");
    const tier = document.createElement("span");
    tier.className = "tier";
    tier.textContent = tierName(w.tier);
    li.append("#" + w.rank + " ", tier, " entry " + w.index + " ");
    const leaf = document.createElement("code");
    leaf.textContent = w.leaf.slice(0, 16) + "\\u2026";
    li.append(leaf);
    reveal.append(li);
  });
  events.addEventListener("done", () => {
    events.close(); drawn = true; tick(); state.textContent = "drawn"; page(0);
  });
  const table = document.getElementById("winners");
  const more = document.getElementById("more");
  async function page(offset) {
    const answer = await fetch(base + "/winners?limit=50&offset=" + offset);
    if (!answer.ok) { return; }
    const body = await answer.json();
    if (offset === 0) { table.textContent = ""; }
    for (const w of body.items) {
      const row = table.insertRow();
      for (const v of [w.rank, tierName(w.tier), w.index, w.leaf]) {
        row.insertCell().textContent = v;
      }
    }
    more.hidden = !body.next;
    more.onclick = () => page(offset + body.items.length);
  }
  document.getElementById("check").addEventListener("click", async () => {
    const out = document.getElementById("outcome");
    let receipt;
    try { receipt = JSON.parse(document.getElementById("receipt").value); }
    catch (e) { out.textContent = "That is not a receipt (JSON)."; return; }
    const answer = await fetch(base + "/check", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(receipt)});
    const body = await answer.json();
    if (!answer.ok) { out.textContent = "Refused: " + body.message; return; }
    const entry = "Entry " + body.index;
    if (body.drawn === undefined) { out.textContent = entry + " is entered; not drawn yet."; }
    else if (!body.drawn) { out.textContent = entry + " was not selected."; }
    else { out.textContent = entry + ": rank " + body.rank + ", " + tierName(body.tier) + "."; }
  });
  if (root.dataset.state === "drawn") { page(0); }
})();
"""


def _row(name: str, value: Any) -> str:
    return f"<tr><th>{escape(name)}</th><td><code>{escape(str(value))}</code></td></tr>"


def _commitment(draw: dict[str, Any]) -> str:
    entries, commitment = draw.get("entries") or {}, draw.get("commitment")
    rows = [_row("configuration hash", draw["configHash"])]
    if entries:
        rows += [
            _row("entrants", entries["count"]),
            _row("candidate root", entries["candidateRoot"]),
        ]
    if commitment:
        rows += [
            _row("chain", f"{commitment['chainId']} / {commitment['contract']}"),
            _row("draw key", commitment["drawKey"]),
            _row("commit transaction", commitment.get("commitTx")),
            _row("RFC 3161 timestamp", f"{commitment.get('tsa')} at {commitment['committedAt']}"),
        ]
    else:
        rows.append(_row("commitment", "not yet on chain"))
    return "<table>" + "".join(rows) + "</table>"


def _configuration(config: dict[str, Any]) -> str:
    tiers = "".join(f"<li>{escape(t['name'])}: {int(t['count'])}</li>" for t in config["tiers"])
    categories = "".join(
        f"<li>{escape(c['name'])}: quota {int(c['quota'])}</li>" for c in config["categories"]
    )
    return (
        f"<ul>{tiers}</ul><p>Waiting list: {int(config['waitingList'])}; weighted: "
        f"{'yes' if config['weighted'] else 'no'}; entry deadline "
        f"{escape(config['entryDeadline'])}</p>"
        + (
            f"<p>Categories (cascade {escape(config['cascade']['rule'])}):</p><ul>{categories}</ul>"
            if categories
            else ""
        )
    )


def render_page(draw: dict[str, Any]) -> str:
    """The page of ``draw`` (its public JSON, :func:`evidence.draw.views.draw_json`)."""
    config = draw["config"]
    tiers = escape(json.dumps([t["name"] for t in config["tiers"]], ensure_ascii=False))
    base = escape(draw["links"]["self"])
    result = draw.get("result") or {}
    round_ = int(result.get("round") or draw["beacon"]["round"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(config["title"])}: public draw</title>
<link rel="stylesheet" href="{STYLE_PATH}"></head>
<body><main id="draw" data-base="{base}" data-tiers="{tiers}" data-state="{escape(draw["state"])}"
 data-round-time="{escape(draw["beacon"]["roundTime"])}">
<h1>{escape(config["title"])}</h1>
<p>{escape(config["rules"])}</p>
<p>State: <strong id="state">{escape(draw["state"])}</strong>
 · beacon {escape(draw["beacon"]["network"])} round <strong id="round">{round_}</strong>
 at {escape(draw["beacon"]["roundTime"])}</p>
<div id="countdown" aria-live="polite"></div>
<div class="grid">
<section class="card"><h2>Configuration</h2>{_configuration(config)}</section>
<section class="card"><h2>Commitments</h2>{_commitment(draw)}</section>
</div>
<section class="card"><h2>Live reveal</h2>
<p>Seed: <code id="seed">{escape(result.get("seed") or "not yet")}</code></p>
<ol id="reveal"></ol></section>
<section class="card"><h2>Winners</h2><table><thead><tr><th>rank</th><th>tier</th><th>entry</th>
<th>leaf</th></tr></thead><tbody id="winners"></tbody></table>
<button id="more" hidden>more</button></section>
<section class="card"><h2>Check your receipt</h2>
<textarea id="receipt" placeholder="Paste your entry receipt (JSON)"></textarea>
<button id="check">Check</button><div id="outcome" aria-live="polite"></div></section>
</main><script src="{SCRIPT_PATH}"></script></body></html>
"""
