"""Scripted capture steps (issue 15): a small allow-listed language, in YAML, run through
a :class:`~evidence.capture.session.CaptureSession` as if a user did each step.

The script is a YAML sequence (YAML 1.1 read by PyYAML's ``safe_load``: plain data, no
tags, https://pyyaml.org/wiki/PyYAMLDocumentation) of one-key mappings, or bare names for
the steps without an argument::

    - goto: https://example.org/login
    - type: {selector: "input[name=user]", text: alice}
    - click: button            # a CSS selector, or [x, y] in viewport CSS pixels
    - key: Enter
    - wait: 1.5                # seconds, capped
    - screenshot: full         # or bare `screenshot` (the viewport)
    - snapshot                 # MHTML
    - save: https://example.org/terms.pdf
    - note: the terms as shown after signing in
    - scroll: 600              # CSS pixels down (negative: up)
    - clip: start              # a key-evidence clip of the video: start, later end

Every step is checked before any runs, and the whole script against a step budget and a
time cap: a bad step is refused with its index (:class:`InvalidCaptureStep`) and no
session starts. At run time a failing step is :class:`CaptureStepFailed`, with its index;
the session still ends and records what happened up to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from evidence.capture.errors import CaptureStepFailed, InvalidCaptureStep
from evidence.capture.page_input import key_events
from evidence.capture.session import CaptureSession, SessionSettings
from evidence.capture.session_record import RecordedSession
from evidence.errors import EvidenceError

__all__ = ["Step", "StepLimits", "parse_steps", "run_script", "run_steps"]

MAX_SCRIPT_BYTES = 64 * 1024
MAX_URL = 2048
MAX_SELECTOR = 500
MAX_SCROLL = 100_000.0
Arg = str | float | bool


@dataclass(frozen=True)
class StepLimits:
    max_steps: int = 50
    #: One ``wait`` step, in seconds.
    max_wait: float = 10.0
    #: The whole script, waits and page loads included.
    max_total_seconds: float = 300.0
    max_text: int = 2000


@dataclass(frozen=True)
class Step:
    index: int
    verb: str
    args: tuple[Arg, ...] = ()


def _url(value: object, index: int) -> tuple[Arg, ...]:
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise InvalidCaptureStep(f"step {index}: an address of at most {MAX_URL} characters", index)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidCaptureStep(f"step {index}: only http and https addresses", index)
    return (value,)


def _text(value: object, index: int, limit: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidCaptureStep(f"step {index}: the {what} is text", index)
    text = str(value)
    if not 1 <= len(text) <= limit:
        raise InvalidCaptureStep(f"step {index}: the {what} has 1 to {limit} characters", index)
    return text


def _number(value: object, index: int, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCaptureStep(f"step {index}: the {what} is a number", index)
    if not low <= float(value) <= high:
        raise InvalidCaptureStep(f"step {index}: the {what} is between {low} and {high}", index)
    return float(value)


def _click(value: object, index: int, limits: StepLimits) -> tuple[Arg, ...]:
    if isinstance(value, list) and len(value) == 2:
        return tuple(_number(v, index, 0, 100_000, "click position") for v in value)
    return (_text(value, index, MAX_SELECTOR, "selector"),)


def _type(value: object, index: int, limits: StepLimits) -> tuple[Arg, ...]:
    if isinstance(value, dict) and value.keys() == {"selector", "text"}:
        value = [value["selector"], value["text"]]
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidCaptureStep(f"step {index}: type takes a selector and a text", index)
    selector = _text(value[0], index, MAX_SELECTOR, "selector")
    return selector, _text(value[1], index, limits.max_text, "text")


def _key(value: object, index: int, limits: StepLimits) -> tuple[Arg, ...]:
    name = _text(value, index, 16, "key")
    if len(name) > 1:
        try:
            key_events(name)
        except EvidenceError as error:
            raise InvalidCaptureStep(f"step {index}: {error.message}", index) from None
    return (name,)


def _screenshot(value: object, index: int, limits: StepLimits) -> tuple[Arg, ...]:
    if value not in (None, "full", "viewport"):
        raise InvalidCaptureStep(f"step {index}: screenshot takes full, viewport or nothing", index)
    return (value == "full",)


def _clip(value: object, index: int, limits: StepLimits) -> tuple[Arg, ...]:
    if value not in ("start", "end"):
        raise InvalidCaptureStep(f"step {index}: clip takes start or end", index)
    return (str(value),)


def _nothing(value: object, index: int, limits: StepLimits) -> tuple[Arg, ...]:
    if value is not None:
        raise InvalidCaptureStep(f"step {index}: snapshot takes no argument", index)
    return ()


_PARSERS: dict[str, Callable[[object, int, StepLimits], tuple[Arg, ...]]] = {
    "goto": lambda v, i, _: _url(v, i),
    "click": _click,
    "type": _type,
    "key": _key,
    "wait": lambda v, i, lim: (_number(v, i, 0, lim.max_wait, "wait"),),
    "screenshot": _screenshot,
    "snapshot": _nothing,
    "save": lambda v, i, _: _url(v, i),
    "note": lambda v, i, lim: (_text(v, i, lim.max_text, "note"),),
    "scroll": lambda v, i, _: (_number(v, i, -MAX_SCROLL, MAX_SCROLL, "scroll"),),
    "clip": _clip,
}
_BARE = frozenset({"screenshot", "snapshot"})


def _step(item: object, index: int, limits: StepLimits) -> Step:
    if isinstance(item, str) and item in _BARE:
        item = {item: None}
    if not isinstance(item, dict) or len(item) != 1:
        raise InvalidCaptureStep(f"step {index}: a step is one `verb: argument` pair", index)
    ((verb, value),) = item.items()
    parser = _PARSERS.get(verb) if isinstance(verb, str) else None
    if parser is None:
        allowed = ", ".join(sorted(_PARSERS))
        raise InvalidCaptureStep(f"step {index}: {verb!r} is not a step ({allowed})", index)
    return Step(index, verb, parser(value, index, limits))


def parse_steps(source: str, limits: StepLimits = StepLimits()) -> tuple[Step, ...]:
    """Every step checked, and the script's budget, before anything runs."""
    if len(source.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise InvalidCaptureStep(f"a script has at most {MAX_SCRIPT_BYTES} bytes")
    try:
        items = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise InvalidCaptureStep(f"the script is not YAML: {error}") from None
    if not isinstance(items, list) or not items:
        raise InvalidCaptureStep("a script is a non-empty list of steps")
    if len(items) > limits.max_steps:
        raise InvalidCaptureStep(f"a script has at most {limits.max_steps} steps")
    steps = tuple(_step(item, index, limits) for index, item in enumerate(items))
    waits = sum(float(s.args[0]) for s in steps if s.verb == "wait")
    if waits > limits.max_total_seconds:
        raise InvalidCaptureStep(f"the waits add up to more than {limits.max_total_seconds} s")
    return steps


async def _run_one(session: CaptureSession, step: Step) -> None:
    args: Sequence[Any] = step.args
    match step.verb:
        case "goto":
            await session.navigate(args[0])
        case "click" if len(args) == 2:
            await session.click(args[0], args[1])
        case "click":
            await session.click_selector(args[0])
        case "type":
            await session.type_text(args[1], selector=args[0])
        case "key":
            await session.key(args[0])
        case "wait":
            await asyncio.sleep(args[0])
        case "screenshot":
            await session.screenshot(full_page=args[0])
        case "snapshot":
            await session.snapshot()
        case "save":
            await session.save_original(args[0])
        case "note":
            await session.note(args[0])
        case "scroll":
            await session.scroll(args[0])
        case "clip":
            session.mark_clip(args[0])


async def run_steps(
    session: CaptureSession, steps: Sequence[Step], limits: StepLimits = StepLimits()
) -> None:
    """Run ``steps`` in order within the time cap; :class:`CaptureStepFailed` names the
    step that failed or was running when the cap was reached."""
    deadline = time.monotonic() + limits.max_total_seconds
    for step in steps:
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                await _run_one(session, step)
        except TimeoutError:
            cap = limits.max_total_seconds
            raise CaptureStepFailed(
                f"step {step.index} ({step.verb}): the script's {cap} s cap was reached",
                step.index,
            ) from None
        except EvidenceError as error:
            raise CaptureStepFailed(
                f"step {step.index} ({step.verb}): {error.message}", step.index
            ) from error


async def run_script(
    settings: SessionSettings, source: str, limits: StepLimits = StepLimits()
) -> RecordedSession:
    """Parse ``source`` (nothing starts if a step is refused), start a session, run the
    steps and end it; a failed step ends the session (its record kept) and is raised."""
    steps = parse_steps(source, limits)
    session = await CaptureSession.start(settings)
    try:
        await run_steps(session, steps, limits)
    except CaptureStepFailed as failure:
        failure.recorded = await session.end(f"script failed: {failure.message}")
        raise
    except BaseException:
        await session.end("script aborted")
        raise
    return await session.end("script completed")
