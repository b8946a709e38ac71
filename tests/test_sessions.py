"""Sessions: a sign-out, a password change or a deactivation ends every earlier sign-in, remember cookies
included; the session is new on each sign-in; its cookies are Lax and HttpOnly."""
import pytest

from dorms.extensions import db

from .conftest import RequestIsolatedClient
from .factories import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")

REMEMBER = "remember_token"


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _remembered_sign_in(app, user):
    """A client signed in with "keep me signed in", and a copy of its remember cookie."""
    client = _new_client(app)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    return client, client.get_cookie(REMEMBER).value


def _new_client(app):
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


def _replay(app, remember_cookie: str) -> bool:
    """Does a browser holding nothing but this remember cookie get in?"""
    thief = _new_client(app)
    thief.set_cookie(REMEMBER, remember_cookie)
    return _signed_in(thief)


def test_a_remember_cookie_signs_in_until_sign_out_and_never_after(app, create_user):
    user = create_user("alice")
    client, cookie = _remembered_sign_in(app, user)
    assert _replay(app, cookie)

    response = client.post("/logout")
    assert f"{REMEMBER}=;" in response.headers["Set-Cookie"]  # the browser's copy is cleared…
    assert client.get_cookie(REMEMBER) is None
    assert not _replay(app, cookie)  # …and a copy taken before no longer counts


def test_a_session_copied_before_sign_out_is_signed_out_too(app, create_user, client, login):
    login(create_user("alice"))
    stolen = client.get_cookie("session").value
    client.post("/logout")
    thief = _new_client(app)
    thief.set_cookie("session", stolen)
    assert not _signed_in(thief)


def test_deactivating_an_account_ends_its_sessions_for_good(app, create_user):
    user = create_user("alice")
    client, cookie = _remembered_sign_in(app, user)
    user.active = False
    db.session.commit()
    assert not _signed_in(client)
    assert not _replay(app, cookie)
    user.active = True  # coming back needs a new sign-in
    db.session.commit()
    assert not _replay(app, cookie)
    assert not _signed_in(client)


def test_the_remember_cookie_is_lax_and_http_only(app, create_user):
    response = _new_client(app).post(
        "/login", data={"username": create_user("alice").username, "password": PASSWORD, "remember": "y"})
    remember = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(REMEMBER + "="))
    assert "SameSite=Lax" in remember and "HttpOnly" in remember


def test_signing_in_starts_a_new_session(app, create_user, client):
    create_user("alice")
    with client.session_transaction() as planted:
        planted["planted"] = "by someone else"
        planted["locale"] = "en"
    client.post("/login", data={"username": "alice", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["locale"] == "en"  # the language chosen on the sign-in page stays
