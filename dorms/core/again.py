"""A form's page shown again with what was typed, instead of losing it: after a form was refused (a service
said no, and the view would redirect to the page the form is on) and after a CSRF failure (a page left open
longer than the token lives, e.g. an inspector's floor sheet).

The page is rendered by its own GET view, inside the POST request but as a GET: so no view ever acts on
what was posted here (after a CSRF failure nothing posted may be acted on). The posted values go into the
page (``g.kept_form``, rendered by base.html) and forms.js puts them back into the form they were sent
from, whether its fields are WTForms fields or plain inputs. Passwords and files are never kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from flask import current_app, g, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

# Never echoed back into a page: the old CSRF token (the page carries a fresh one) and passwords.
NOT_KEPT = ("csrf_token",)


@dataclass
class KeptForm:
    """What base.html needs: where the form was sent (to find it), its values, a notice to show,
    and the page's own address (for the language switch, which returns to it)."""

    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    page: str = ""
    notice: str = ""


def posted_values() -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.form.items(multi=True)
            if name not in NOT_KEPT and "password" not in name.lower()]


def mark_refused() -> None:
    """A form of this request was refused: if the view redirects, the page is shown again with the values."""
    g.form_refused = True


def _get_rule(url: str | None):
    """The rule and arguments of the GET page of ours at ``url`` (a path, or an address on this host)."""
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.scheme and parts.scheme not in ("http", "https")) or (parts.netloc and parts.netloc != request.host):
        return None
    path = parts.path
    root = request.script_root
    if root:
        if not path.startswith(root + "/"):
            return None
        path = path[len(root):]
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        rule, args = adapter.match(path, method="GET", return_rule=True)
    except HTTPException:  # no such page, only other methods, or a redirect (a trailing slash)
        return None
    return rule, args, parts.query


def page_again(url: str | None, *, notice: str = "", status: int = 200):
    """The page at ``url`` rendered by its GET view with the posted values kept, or None when there is no
    such page of ours or it does not render (the user may not see it, the view redirects)."""
    found = _get_rule(url)
    if found is None:
        return None
    rule, args, query = found
    view = current_app.view_functions[rule.endpoint]
    saved = request.method, request.url_rule, request.view_args, request.args
    page = current_app.url_map.bind_to_environ(request.environ).build(rule.endpoint, args, force_external=False)
    # The address the form posts to as its page writes it (with the prefix the app is served under).
    g.kept_form = KeptForm(action=request.script_root + request.path, fields=posted_values(),
                           page=page + (f"?{query}" if query else ""), notice=notice)
    # As a GET: a view taking GET and POST shows its form and acts on nothing; the page's query and links
    # (the pager's) are the page's own.
    request.method, request.url_rule, request.view_args = "GET", rule, args
    request.args = ImmutableMultiDict(parse_qsl(query, keep_blank_values=True))
    try:
        response = current_app.make_response(view(**args))
    except HTTPException:
        response = None
    finally:
        request.method, request.url_rule, request.view_args, request.args = saved
    if response is None or response.status_code != 200 or response.mimetype != "text/html":
        g.pop("kept_form", None)
        return None
    response.status_code = status
    return response


def refused_page_again(response):
    """After a refused form whose view redirects to a page of ours: that page instead, with the values."""
    if (request.method == "POST" and g.get("form_refused") and response.status_code in (302, 303)
            and any(value.strip() for _name, value in posted_values())):
        return page_again(response.location) or response
    return response
