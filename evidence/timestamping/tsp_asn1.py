"""RFC 3161 §2.4.2 TimeStampResp encoding, with the token OPTIONAL as the RFC has it.

https://www.rfc-editor.org/rfc/rfc3161#section-2.4.2: ``TimeStampResp ::= SEQUENCE {
status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }``. asn1crypto's
``tsp.TimeStampResp`` declares the token mandatory, which makes a rejection (where the
token MUST be absent) impossible to encode; this module declares the structure with
asn1crypto's own building blocks instead.
"""

from __future__ import annotations

from asn1crypto import cms, core, tsp

__all__ = ["TimeStampResp", "granted_response", "rejection_response"]


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 (asn1crypto's declaration style)
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def granted_response(token: bytes) -> bytes:
    """A ``granted`` TimeStampResp carrying the DER ContentInfo ``token``."""
    response = TimeStampResp(
        {"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token)}
    )
    return bytes(response.dump())


def rejection_response(failure: str, text: str) -> bytes:
    """A ``rejection`` with one PKIFailureInfo bit (asn1crypto's name, e.g. ``bad_alg``)."""
    status = {"status": "rejection", "status_string": [text], "fail_info": {failure}}
    return bytes(TimeStampResp({"status": status}).dump())
