"""The capture service of issue 15 (remote evidence capture): a witnessed browser session
recorded as a hash chain of its items and packaged as a signed WACZ.

Built so far, without routes: the session's hash chain (``hash_chain``,
``docs/capture-hash-chain.md``), the WACZ package and its signature (``wacz_package``,
``wacz_signing``, ``wacz_verify``), the recording proxy (``recorder``), the clean browser
over CDP with its pre-flight report and video (``browser``, ``preflight``, ``video``), one
session run through them (``session``, scripted by ``steps``) and sealed
(``session_package``), the capture letter (``capture_letter``) and a court's check of it
(``capture_verification``), the records and their state machine (``models``, ``service``,
migration 0015). The hub's wiring (``open_captures``, the ``/captures`` router and live
page, the sealing worker through the deposit pipeline, the CLI) and the PDF letter come
next.
"""
