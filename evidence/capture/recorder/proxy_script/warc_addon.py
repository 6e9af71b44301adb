"""The recording proxy of remote evidence capture (issue 15): a mitmproxy addon.

Run by the capture venv's mitmdump (``.venv-capture/bin/mitmdump -s warc_addon.py``,
started by :mod:`evidence.capture.recorder.process`); it imports the standard library and
that venv only (mitmproxy, warcio, cryptography), never the hub's packages. Its folder has
no ``__init__.py`` on purpose: the hub never imports it (and the walks over the hub's
packages, e.g. ``tests/notary_hub/test_errors.py``, must not try).

Why mitmproxy 11.0.2 + warcio and not warcprox 2.13 (both tried in throw-away venvs):

- warcprox never validates the upstream certificate (``ssl.CERT_NONE``,
  ``check_hostname = False`` in ``warcprox/mitmproxy.py``), does not record the chain,
  refuses only ``127.0.0.1``/``::1`` and only *after* connecting, and its plugins run after
  the fetch; each of our rules would mean patching its handler classes.
- mitmproxy has a hook for each of them: ``server_connect`` (resolve the name ourselves,
  refuse any non-global or denied address, then pin the connection to the vetted address so
  a second lookup cannot rebind it), upstream validation by OpenSSL against our own trust
  store (``ssl_verify_upstream_trusted_ca``) with ``tls_failed_server`` carrying the reason
  and the pyOpenSSL connection (the chain it was offered), ``body_size_limit`` for the cap.
- What warcprox does better: it tees the socket, so a chunked body keeps its original chunk
  framing. mitmproxy hands over the de-chunked entity; a chunked response is therefore
  written re-framed as one chunk (the entity bytes exact, the record's ``Capture-Framing:
  single-chunk`` says so). Every other byte (status line, header lines in their order and
  case, the body with its content-coding) is what the server sent.

h11: mitmproxy parses HTTP/1 headers itself but reads bodies with h11's ``ChunkedReader``,
``ContentLengthReader`` and ``Http10Reader`` (``mitmproxy/proxy/layers/http/_http1.py``):
CVE-2025-43859 (lenient chunk footers, request smuggling) is in exactly that reader, so the
capture venv overrides mitmproxy 11.0.2's ``h11<=0.14`` cap with h11 >= 0.16 (same private
API, which mitmproxy 12 uses), and :func:`_require_fixed_h11` refuses to run without it.

WARC: ISO 28500:2017 (WARC/1.1), https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.metadata
import io
import ipaddress
import json
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http, tcp
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.server_hooks import ServerConnectionHookData
from mitmproxy.tls import TlsData
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Rule = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]


def _require_fixed_h11() -> None:
    installed = importlib.metadata.version("h11")
    if tuple(int(part) for part in installed.split(".")[:2]) < (0, 16):
        raise RuntimeError(f"h11 {installed} has CVE-2025-43859; the capture venv needs >= 0.16")


def parse_rules(entries: list[str]) -> list[Rule]:
    """``"127.0.0.1:8443"``, ``"10.0.0.0/8"`` or ``"[::1]:443"``: a network, and a port or any."""
    rules: list[Rule] = []
    for entry in entries:
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif entry.count(":") == 1:
            host, _, text = entry.partition(":")
            port = int(text)
        rules.append((ipaddress.ip_network(host, strict=False), port))
    return rules


def _matches(rules: list[Rule], address: Address, port: int) -> bool:
    return any(address in net and (want is None or want == port) for net, want in rules)


def refusal(address: Address, port: int, allow: list[Rule], deny: list[Rule]) -> str | None:
    """Why ``address:port`` may not be reached, or None. Denied (the hub) beats allowed."""
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it maps.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if _matches(deny, address, port):
        return "hub"
    if _matches(allow, address, port):
        return None
    if address.is_loopback:
        return "loopback_address"
    if not address.is_global:
        return "private_address"
    return None


def _pem_chain(certificates: list[Any]) -> list[str]:
    return [cert.to_pem().decode("ascii") for cert in certificates]


def _offered_chain(tls: TlsData) -> list[str]:
    """The chain the server offered before validation failed (pyOpenSSL keeps it)."""
    if tls.ssl_conn is None:
        return []
    from cryptography.hazmat.primitives.serialization import Encoding

    chain = tls.ssl_conn.get_peer_cert_chain() or []
    return [c.to_cryptography().public_bytes(Encoding.PEM).decode("ascii") for c in chain]


def _iso(timestamp: float) -> str:
    """WARC 1.1 §5.4 WARC-Date: UTC ending in ``Z``. warcio appends the ``Z`` to
    ``isoformat()``, so it is given a naive UTC time (an aware one gives ``+00:00Z``)."""
    moment = datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)
    iso: str = datetime_to_iso_date(moment, use_micros=True)
    return iso


def _head(first_line: bytes, fields: Any) -> bytes:
    lines = [first_line] + [name + b": " + value for name, value in fields]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _is_chunked(message: http.Message) -> bool:
    return "chunked" in message.headers.get("transfer-encoding", "").lower()


def _framed_body(message: http.Message) -> tuple[bytes, bool]:
    """The body as it travels: content-coding kept; a chunked one re-framed as one chunk."""
    body = message.raw_content or b""
    if not _is_chunked(message):
        return body, False
    if not body:
        return b"0\r\n\r\n", True
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n", True


def raw_request(request: http.Request) -> tuple[bytes, bool]:
    """The request as sent to the server (origin form), and whether it was re-framed."""
    line = b" ".join([request.data.method, request.data.path, request.data.http_version])
    body, reframed = _framed_body(request)
    return _head(line, request.headers.fields) + body, reframed


def raw_response(response: http.Response) -> tuple[bytes, bool]:
    """The response as the server sent it, and whether it was re-framed."""
    line = b"%s %d %s" % (response.data.http_version, response.status_code, response.data.reason)
    body, reframed = _framed_body(response)
    return _head(line, response.headers.fields) + body, reframed


class WarcRecorder:
    """Writes WARC/1.1 records and the JSON-Lines event log of one capture session."""

    def __init__(self) -> None:
        self.writer: WARCWriter | None = None
        self.events: io.TextIOWrapper | None = None
        self.allow: list[Rule] = []
        self.deny: list[Rule] = []
        self.ready_path: Path | None = None
        # per server connection id: what it resolved to, and its metadata record's id
        self.connections: dict[str, dict[str, Any]] = {}
        # errors of connections refused or failed and logged with their reason: the flow
        # that waited on one reports it again (from another connection object)
        self.logged: set[str] = set()

    # -- set-up ---------------------------------------------------------------------------
    def load(self, loader: Loader) -> None:
        loader.add_option("capture_config", str, "", "JSON settings of this capture session")

    def configure(self, updated: set[str]) -> None:
        if "capture_config" not in updated or not ctx.options.capture_config:
            return
        _require_fixed_h11()
        config = json.loads(Path(ctx.options.capture_config).read_text())
        self.allow = parse_rules(config["allow"])
        self.deny = parse_rules(config["deny"])
        self.ready_path = Path(config["ready_path"])
        self.writer = WARCWriter(open(config["warc_path"], "ab"), gzip=True, warc_version="1.1")  # noqa: SIM115
        self.events = open(config["events_path"], "a", encoding="utf-8")  # noqa: SIM115

    def running(self) -> None:
        # The launcher asked for port 0: tell it the port the proxy really listens on.
        addrs = ctx.master.addons.get("proxyserver").listen_addrs()
        assert self.ready_path is not None
        partial = self.ready_path.with_suffix(".partial")
        partial.write_text(json.dumps({"port": addrs[0][1]}))
        partial.replace(self.ready_path)

    def done(self) -> None:
        if self.writer is not None:
            self.writer.out.close()
        if self.events is not None:
            self.events.close()

    # -- the log --------------------------------------------------------------------------
    def event(self, reason: str, **facts: Any) -> None:
        assert self.events is not None
        self.events.write(json.dumps({"time": time.time(), "reason": reason, **facts}) + "\n")
        self.events.flush()

    def write(self, kind: str, uri: str, block: bytes, content_type: str, **fields: str) -> str:
        """One WARC record whose block is ``block`` byte for byte; returns its WARC-Record-ID."""
        assert self.writer is not None
        record_id = f"<urn:uuid:{uuid.uuid4()}>"
        headers = [("WARC-Type", kind), ("WARC-Record-ID", record_id)]
        headers += [("WARC-Target-URI", uri), *list(fields.items())]
        if "WARC-Date" not in fields:
            headers.append(("WARC-Date", _iso(time.time())))
        if content_type.startswith("application/http"):
            # Over the message body as recorded (what warcio and wget digest), framing included;
            # warcio would digest the whole block, as it is given no parsed head.
            body = block.partition(b"\r\n\r\n")[2]
            digest = base64.b32encode(hashlib.sha256(body).digest()).decode()
            headers.append(("WARC-Payload-Digest", f"sha256:{digest}"))
        warc_headers = StatusAndHeaders("", headers, protocol="WARC/1.1")
        # No http_headers: warcio would re-serialise parsed header lines; the block is kept raw.
        record = ArcWarcRecord(
            "warc", kind, warc_headers, io.BytesIO(block), None, content_type, len(block)
        )
        record.payload_length = len(block)
        self.writer.write_record(record)
        self.writer.out.flush()
        return record_id

    # -- destinations ---------------------------------------------------------------------
    async def server_connect(self, data: ServerConnectionHookData) -> None:
        host, port = data.server.address
        try:
            answers = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            self._refuse(data, "dns_failed", host, port, [], str(exc))
            return
        addresses = list(dict.fromkeys(ipaddress.ip_address(a[4][0]) for a in answers))
        for address in addresses:
            reason = refusal(address, port, self.allow, self.deny)
            if reason is not None:
                self._refuse(data, reason, host, port, addresses, f"{address} is refused")
                return
        if data.server.sni is None and not _is_ip(host):
            data.server.sni = host  # validate the certificate for the name, not the IP
        # Pinned to the vetted address: a second lookup cannot rebind the name.
        data.server.address = (str(addresses[0]), port)
        self.connections[data.server.id] = {
            "host": host,
            "port": port,
            "dns_answers": [str(a) for a in addresses],
        }

    def _refuse(
        self,
        data: ServerConnectionHookData,
        reason: str,
        host: str,
        port: int,
        addresses: list[Address],
        detail: str,
    ) -> None:
        data.server.error = f"capture refused {host}:{port}: {reason} ({detail})"
        self.logged.add(data.server.error)
        answers = [str(a) for a in addresses]
        self.event(reason, host=host, port=port, dns_answers=answers, detail=detail)

    # -- per connection: the certificate chain, the validation, the address ---------------
    def server_connected(self, data: ServerConnectionHookData) -> None:
        facts = self.connections.get(data.server.id)
        if facts is not None and data.server.peername is not None:
            facts["ip"] = data.server.peername[0]

    def tls_established_server(self, tls: TlsData) -> None:
        chain = _pem_chain(tls.conn.certificate_list)
        self._connection_record(tls, {"validation": "valid", "chain_pem": chain})

    def tls_failed_server(self, tls: TlsData) -> None:
        error = str(tls.conn.error)
        invalid = error.startswith("Certificate verify failed")
        reason = "certificate_invalid" if invalid else "tls_failed"
        chain = _offered_chain(tls)
        tls_facts: dict[str, Any] = {"error": error, "chain_pem": chain}
        tls_facts["validation"] = f"invalid: {error}" if invalid else "no handshake"
        self._connection_record(tls, tls_facts)
        facts = self.connections.get(tls.conn.id, {})
        self.event(reason, host=facts.get("host"), port=facts.get("port"), detail=error)
        self.logged.add(error)

    def _connection_record(self, tls: TlsData, tls_facts: dict[str, Any]) -> None:
        server = tls.conn
        facts = self.connections.setdefault(server.id, {})
        tls_facts |= {"sni": server.sni, "version": server.tls_version, "cipher": server.cipher}
        body = {**facts, "tls": tls_facts}
        uri = f"https://{facts.get('host', server.sni)}:{facts.get('port', '')}/"
        fields = {"WARC-IP-Address": facts["ip"]} if "ip" in facts else {}
        block = json.dumps(body, indent=1).encode()
        facts["record_id"] = self.write("metadata", uri, block, "application/json", **fields)

    # -- exchanges ------------------------------------------------------------------------
    def response(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        if flow.response.timestamp_start is None or flow.server_conn.peername is None:
            return  # answered by the proxy itself (a refusal), not by a server
        # pretty_url: the name the browser asked for (Host), not the address it was pinned to
        request, request_reframed = raw_request(flow.request)
        response, response_reframed = raw_response(flow.response)
        common = {"WARC-IP-Address": flow.server_conn.peername[0]}
        connection = self.connections.get(flow.server_conn.id, {})
        if "record_id" in connection:
            common["Capture-Connection"] = connection["record_id"]
        response_fields = {**common, "WARC-Date": _iso(flow.response.timestamp_start)}
        if response_reframed:
            response_fields["Capture-Framing"] = "single-chunk"
        response_id = self.write(
            "response",
            flow.request.pretty_url,
            response,
            "application/http;msgtype=response",
            **response_fields,
        )
        request_fields = {**common, "WARC-Date": _iso(flow.request.timestamp_start)}
        request_fields["WARC-Concurrent-To"] = response_id
        if request_reframed:
            request_fields["Capture-Framing"] = "single-chunk"
        self.write(
            "request",
            flow.request.pretty_url,
            request,
            "application/http;msgtype=request",
            **request_fields,
        )

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        """Raw TCP would pass unrecorded: only HTTP goes through a capture proxy."""
        host, port = flow.server_conn.address or ("", 0)
        self.event("not_http", host=host, port=port, detail="a raw TCP stream is not relayed")
        flow.kill()

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.error is None:
            return
        message = flow.error.msg
        if any(error in message for error in self.logged):
            return  # already logged with its reason
        reason = "over_cap" if "body_size_limit" in message else "failed"
        self.event(reason, url=flow.request.pretty_url, detail=message)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


addons = [WarcRecorder()]
