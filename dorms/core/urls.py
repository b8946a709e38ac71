"""Where it is safe to send people back to."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def local_target(target: str | None) -> str:
    """``target`` if it is a path on this site, else the start page.

    Browsers treat backslashes and strip tabs and newlines, so "/\\evil" or
    "/\\t/evil" would lead elsewhere: anything unusual is refused.
    """
    if not target or not target.startswith("/") or any(c in target for c in "\\\t\r\n") or \
            any(ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return url_for("dashboard.index")
    return target
