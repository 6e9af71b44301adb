"""The recording proxy of remote evidence capture (issue 15): every exchange written raw into
WARC by a proxy running in its own process and venv (``proxy_script/warc_addon.py``), started
and stopped by :mod:`evidence.capture.recorder.process`."""
