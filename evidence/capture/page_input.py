"""What the capture browser sends for the user's input, and how typed secrets stay out of
the record (issue 15: "Typed text in password fields is masked in the log and on video").

CDP's Input domain: https://chromedevtools.github.io/devtools-protocol/tot/Input/.

Whether the focused element is a password field is asked in an isolated world
(``Page.createIsolatedWorld``): it shares the page's DOM but none of its JavaScript, so a
page cannot redefine ``document.activeElement`` to make the capture log a password. An
element inside a frame the isolated world cannot see into (another origin) counts as a
password field: when in doubt, the text is masked. A password field typed into is marked
``data-capture-masked`` and a style keeps it drawn as discs even if the page turns it into
a text field (a "show password" button); the style is added to the page's DOM, which the
action log says (``mask_style``), so a DOM snapshot taken later shows it.
"""

from __future__ import annotations

import json
from typing import Any

from evidence.capture.browser_errors import InvalidCaptureInput
from evidence.capture.cdp import CdpConnection

__all__ = ["MASK", "element_center", "focused_is_secret", "key_events", "mouse_events"]

#: What the action log records instead of text typed into a password field (its length too
#: is a secret).
MASK = "•••"

_FOCUS_PROBE = """(() => {
  let e = document.activeElement;
  for (let depth = 0; e && depth < 32; depth++) {
    if (e.shadowRoot && e.shadowRoot.activeElement) { e = e.shadowRoot.activeElement; continue; }
    if (e.tagName === 'IFRAME' || e.tagName === 'FRAME') {
      let inner = null;
      try { inner = e.contentDocument; } catch (_) { inner = null; }
      if (!inner) return 'opaque';
      if (!inner.activeElement || inner.activeElement === inner.body) return 'plain';
      e = inner.activeElement; continue;
    }
    break;
  }
  if (!e || e.tagName !== 'INPUT') return 'plain';
  if (e.type !== 'password' && !e.hasAttribute('data-capture-masked')) return 'plain';
  e.setAttribute('data-capture-masked', '');
  const doc = e.ownerDocument;
  if (!doc.getElementById('capture-mask-style')) {
    const style = doc.createElement('style');
    style.id = 'capture-mask-style';
    style.textContent = '[data-capture-masked]{-webkit-text-security:disc!important}';
    (doc.head || doc.documentElement).appendChild(style);
    return 'password+style';
  }
  return 'password';
})()"""

# Keys other than single characters: (windowsVirtualKeyCode, code, text they type).
_KEYS: dict[str, tuple[int, str, str | None]] = {
    "Enter": (13, "Enter", "\r"),
    "Tab": (9, "Tab", None),
    "Backspace": (8, "Backspace", None),
    "Delete": (46, "Delete", None),
    "Escape": (27, "Escape", None),
    "ArrowLeft": (37, "ArrowLeft", None),
    "ArrowUp": (38, "ArrowUp", None),
    "ArrowRight": (39, "ArrowRight", None),
    "ArrowDown": (40, "ArrowDown", None),
    "Home": (36, "Home", None),
    "End": (35, "End", None),
    "PageUp": (33, "PageUp", None),
    "PageDown": (34, "PageDown", None),
}
_BUTTONS = frozenset({"left", "middle", "right"})


# The element scrolled into view and the centre of its box, in viewport CSS pixels.
_LOCATE = """((selector) => {
  const e = document.querySelector(selector);
  if (!e) return null;
  e.scrollIntoView({block: 'center', inline: 'center'});
  const r = e.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
})"""


async def _isolated_evaluate(cdp: CdpConnection, session: str, expression: str) -> Any:
    """Runtime.evaluate in an isolated world: the page's DOM, none of its JavaScript."""
    tree = await cdp.send("Page.getFrameTree", session=session)
    world = await cdp.send(
        "Page.createIsolatedWorld",
        {"frameId": tree["frameTree"]["frame"]["id"], "worldName": "capture-input"},
        session=session,
    )
    return await cdp.send(
        "Runtime.evaluate",
        {
            "expression": expression,
            "contextId": world["executionContextId"],
            "returnByValue": True,
        },
        session=session,
    )


async def element_center(cdp: CdpConnection, session: str, selector: str) -> tuple[float, float]:
    """Where to click ``selector`` (a CSS selector) in the main frame: the first match,
    scrolled into view; asked in an isolated world so a page cannot move the target."""
    answer = await _isolated_evaluate(cdp, session, f"{_LOCATE}({json.dumps(selector)})")
    if "exceptionDetails" in answer:
        raise InvalidCaptureInput(f"not a CSS selector: {selector!r}")
    value = answer.get("result", {}).get("value")
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidCaptureInput(f"nothing on the page matches {selector!r}")
    return float(value[0]), float(value[1])


async def focused_is_secret(cdp: CdpConnection, session: str) -> tuple[bool, bool]:
    """(whether the focused element takes a secret, whether the mask style was just added)."""
    answer = await _isolated_evaluate(cdp, session, _FOCUS_PROBE)
    verdict = answer.get("result", {}).get("value", "opaque")
    return verdict != "plain", verdict == "password+style"


def key_events(key: str) -> list[dict[str, Any]]:
    """``Input.dispatchKeyEvent`` parameters for a named key (not for text: insertText)."""
    if key not in _KEYS:
        raise InvalidCaptureInput(f"unknown key {key!r}; type text instead")
    code, name, text = _KEYS[key]
    down: dict[str, Any] = {
        "type": "keyDown" if text else "rawKeyDown",
        "key": key,
        "code": name,
        "windowsVirtualKeyCode": code,
    }
    if text:
        down["text"] = text
    up = {"type": "keyUp", "key": key, "code": name, "windowsVirtualKeyCode": code}
    return [down, up]


def mouse_events(x: float, y: float, button: str, width: int, height: int) -> list[dict[str, Any]]:
    """Move, press and release at (x, y) in CSS pixels of the viewport."""
    if button not in _BUTTONS:
        raise InvalidCaptureInput(f"unknown mouse button {button!r}")
    if not (0 <= x < width and 0 <= y < height):
        raise InvalidCaptureInput(f"({x}, {y}) is outside the {width}x{height} viewport")
    base = {"x": x, "y": y}
    return [
        {"type": "mouseMoved", **base},
        {"type": "mousePressed", **base, "button": button, "clickCount": 1},
        {"type": "mouseReleased", **base, "button": button, "clickCount": 1},
    ]
