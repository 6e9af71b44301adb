"""Captures run by the hub: scripted (issue 15 item 7: ``POST /captures`` with steps) and
live (item 4: a person drives it through the live page, :mod:`.live_session`).

Each session runs in a thread of its own with its own event loop (the browser, the
recorder and the video are asyncio; a request only starts it and answers 202). The order
is the one :mod:`evidence.capture.models` draws: ``preflight`` (the row leased to this
process before the browser starts), ``live`` once the pre-flight passed, ``ending`` when
the script is done (or failed, or was asked to end), or the live session ended (by its
owner, its idle timeout or maximum duration, or the browser's end), then
:class:`CaptureSealer`: a live capture is sealed exactly as a scripted one.

Trust boundary: who may make the notary record and sign is a caller holding
``evidence:capture``; what it signs is only what this process's browser and proxy
recorded (:mod:`evidence.capture.session`'s docstring). A caller chooses the target and
the steps, never the browser, the proxy, the allow-list or the limits beyond the
ceilings (:class:`~.capture_request.CaptureLimits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from evidence.capture.capture_request import CaptureLimits
from evidence.capture.errors import CaptureError, CaptureStepFailed
from evidence.capture.live_access import LiveAccess
from evidence.capture.live_session import LiveCapture, LiveSession, live_settings
from evidence.capture.models import CaptureRecord, EndReason
from evidence.capture.sealing import CaptureSealer
from evidence.capture.service import CaptureService
from evidence.capture.session import CaptureSession, SessionSettings
from evidence.capture.session_limits import SessionSlot, SessionSlots
from evidence.capture.session_record import RecordedSession
from evidence.capture.steps import Step, StepLimits, parse_steps, run_steps
from evidence.principal import Principal

__all__ = ["CaptureRunner", "LiveCapture", "ScriptedCapture"]

log = logging.getLogger(__name__)
RENEWALS_PER_LEASE = 3  # a renewal lost to a slow database still leaves two


@dataclass(frozen=True)
class ScriptedCapture:
    """What ``POST /captures`` asks for: the first address, the steps after it."""

    target: str
    script: str = ""
    limits: Mapping[str, object] | None = None


class CaptureRunner:
    """Starts sessions, ends them on request, and stops them all at shutdown."""

    def __init__(
        self,
        service: CaptureService,
        sealer: CaptureSealer,
        settings_for: Callable[[str, CaptureLimits], SessionSettings],
        slots: SessionSlots,
        *,
        step_limits: StepLimits | None = None,
    ) -> None:
        self._service = service
        self._sealer = sealer
        self._settings_for = settings_for
        self._slots = slots
        self._step_limits = step_limits or StepLimits()
        self.access = LiveAccess()
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()

    @property
    def holder(self) -> str:
        return self._sealer.holder

    def start(
        self, principal: Principal, asked: ScriptedCapture | LiveCapture
    ) -> tuple[CaptureRecord, str | None]:
        """Checked (the steps, the target, the limits, a free slot) before anything starts;
        the record, and a live capture's first ticket to its page (:mod:`.live_access`)."""
        script = asked.script if isinstance(asked, ScriptedCapture) else ""
        steps = parse_steps(script, self._step_limits) if script.strip() else ()
        mode = "live" if isinstance(asked, LiveCapture) else "scripted"
        slot = self._slots.take()
        try:
            record = self._service.create(
                principal, mode, asked.target, asked.limits, holder=self.holder
            )
            limits = CaptureLimits.parse(record.limits, self._service.ceiling)
            live = LiveSession(record.id, record.target, limits) if mode == "live" else None
            running = _Running(record.id, slot, live)
            thread = threading.Thread(
                target=self._run,
                args=(running, record.target, steps, limits),
                name=f"capture-{record.id[:8]}",
                daemon=True,
            )
            with self._lock:
                self._running[record.id] = running
            ticket = None
            if live is not None:
                self.access.open(record.id)
                ticket = self.access.ticket(record.id)
            thread.start()
        except BaseException:
            slot.release()
            raise
        return record, ticket

    def end(self, principal: Principal, capture_id: str) -> CaptureRecord:
        """The owner's end: ``live`` → ``ending`` (a second end is a 409), then the session
        stops after its current step and is sealed."""
        record = self._service.end_requested(capture_id, principal, EndReason.USER.value)
        self._stop(capture_id)
        return record

    def end_live(self, capture_id: str) -> CaptureRecord:
        """The owner's end from the live page, whose cookie stands for the owner
        (:mod:`.live_access`); otherwise as :meth:`end`."""
        record = self._service.end_requested(capture_id, None, EndReason.USER.value)
        self._stop(capture_id)
        return record

    def live(self, capture_id: str) -> LiveSession | None:
        """``capture_id``'s live session if this process runs it."""
        with self._lock:
            running = self._running.get(capture_id)
        return running.live if running is not None else None

    def _stop(self, capture_id: str) -> None:
        with self._lock:
            running = self._running.get(capture_id)
        if running is not None:
            running.stop()

    def close(self, timeout: float = 30.0) -> None:
        """Stop every session (each is sealed, or left for recovery if sealing cannot
        finish in time)."""
        with self._lock:
            running = list(self._running.values())
        for session in running:
            session.stop()
        for session in running:
            session.done.wait(timeout)

    def _run(
        self, running: _Running, target: str, steps: Sequence[Step], limits: CaptureLimits
    ) -> None:
        try:
            asyncio.run(self._session(running, target, steps, limits))
        except Exception:
            log.exception("capture %s stopped on an unexpected error", running.capture_id)
        finally:
            if running.live is not None:
                running.live.finish("the capture session has ended")  # if nothing said so
                self.access.close(running.capture_id)
            running.slot.release()
            with self._lock:
                self._running.pop(running.capture_id, None)
            running.done.set()

    async def _session(
        self, running: _Running, target: str, steps: Sequence[Step], limits: CaptureLimits
    ) -> None:
        capture_id, live = running.capture_id, running.live
        settings = self._settings_for(capture_id, limits)
        try:
            session = await CaptureSession.start(
                live_settings(settings, limits) if live is not None else settings
            )
        except CaptureError as error:  # a failed pre-flight (PreflightFailed) names each check
            self._service.refused(capture_id, [error.message])
            if live is not None:
                live.finish(f"refused: {error.message}")
            return
        self._service.started(capture_id, bytes.fromhex(session.preflight_sha256), self.holder)
        running.attach(asyncio.get_running_loop())
        renewing = asyncio.create_task(self._renew(capture_id))
        try:
            if live is not None:
                why, outcome = await live.run(session, running.stopped)
                live.finish(outcome)  # the viewer hears it before the sealing starts
            else:
                why = EndReason.SCRIPT_DONE
                outcome = await self._drive(running, session, target, steps, limits)
        finally:
            renewing.cancel()
        await self._end(capture_id, session, outcome, why)

    async def _drive(
        self,
        running: _Running,
        session: CaptureSession,
        target: str,
        steps: Sequence[Step],
        limits: CaptureLimits,
    ) -> str:
        """The script, until it is done, fails, reaches the session's maximum duration or
        an end is asked for; why it stopped."""
        script = asyncio.create_task(self._script(session, target, steps))
        stop = asyncio.create_task(running.stopped.wait())
        await asyncio.wait(
            {script, stop},
            timeout=limits.max_duration_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        stop.cancel()
        if not script.done():
            script.cancel()
            with contextlib.suppress(asyncio.CancelledError, CaptureError):
                await script
            if running.stopped.is_set():
                return "ended by the user"
            return f"the maximum duration of {limits.max_duration_seconds} s was reached"
        try:
            script.result()
        except CaptureStepFailed as failure:
            return f"script failed: {failure.message}"
        except CaptureError as error:
            return f"script failed: {error.message}"
        return "script completed"

    async def _script(self, session: CaptureSession, target: str, steps: Sequence[Step]) -> None:
        await session.navigate(target)
        await run_steps(session, steps, self._step_limits)

    async def _end(
        self, capture_id: str, session: CaptureSession, reason: str, why: EndReason
    ) -> None:
        with contextlib.suppress(CaptureError):  # the owner's end may have come first
            self._service.end_requested(capture_id, None, why.value, reason)
        recorded: RecordedSession = await session.end(reason)
        head = bytes.fromhex(recorded.chain_head)
        self._service.chain_progress(capture_id, head, recorded.chain_length, holder=self.holder)
        await asyncio.to_thread(self._sealer.seal, capture_id, recorded)

    async def _renew(self, capture_id: str) -> None:
        every = self._service.lease.total_seconds() / RENEWALS_PER_LEASE
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(self._service.renew, capture_id, self.holder)


class _Running:
    """One running session's handle, shared between the request threads and its loop."""

    def __init__(self, capture_id: str, slot: SessionSlot, live: LiveSession | None) -> None:
        self.capture_id = capture_id
        self.slot = slot
        self.live = live
        self.done = threading.Event()
        self.stopped = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_asked = False
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._loop = loop
            if self._stop_asked:
                self.stopped.set()

    def stop(self) -> None:
        with self._lock:
            self._stop_asked = True
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.stopped.set)
