"""Security headers: a Content-Security-Policy that runs no inline script and lets no site frame us, and
nothing shown to a signed-in user (pages, exports, a new API token) kept in a cache."""
import re
from pathlib import Path

import pytest

from dorms.core.enums import Role

pytestmark = pytest.mark.backends("sqlite", "postgresql")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _policy(response) -> dict[str, str]:
    directives = (d.strip().split(None, 1) for d in response.headers["Content-Security-Policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def test_every_page_has_a_policy_without_inline_script_or_framing(client, create_user, login):
    for response in (client.get("/login"), login(create_user(role=Role.STAFF)).get("/")):
        policy = _policy(response)
        assert policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"


def test_no_template_has_inline_script_or_event_attributes():
    """What the policy would block, checked at the source: scripts come from dorms/static."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"""\son[a-z]+\s*=\s*["']""", text), template
        assert "javascript:" not in text, template


def test_the_page_scripts_are_served(client):
    assert client.get("/static/forms.js").status_code == 200
    assert client.get("/static/hygiene-floor.js").status_code == 200


def test_signed_in_pages_exports_and_a_new_token_are_not_cached(client, create_user, login):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(create_user(role=Role.STAFF))
    new_token = client.post("/curfew/integrations/tokens", data={"name": "gate", "scope": "events:post"})
    assert "dak_" in new_token.get_data(as_text=True)
    for response in (client.get("/"), client.get("/export/students.csv"), client.get("/export/rooms.xlsx"),
                     new_token):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/forms.js").headers.get("Cache-Control", "")
