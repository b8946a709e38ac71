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


NEW_PASSWORD = "a new passphrase"


def _change(client, current=PASSWORD, new=NEW_PASSWORD, repeat=None):
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                   "repeat_password": new if repeat is None else repeat})


def test_changing_the_password_ends_the_other_sign_ins_but_not_this_one(app, create_user):
    user = create_user("alice")
    phone, phone_cookie = _remembered_sign_in(app, user)
    laptop, _ = _remembered_sign_in(app, user)
    assert 'href="/account/password"' in laptop.get("/").get_data(as_text=True)  # linked from the header

    response = _change(laptop)
    assert response.status_code == 302
    assert _signed_in(laptop)
    assert not _signed_in(phone)
    assert not _replay(app, phone_cookie)
    assert _replay(app, laptop.get_cookie(REMEMBER).value)  # this browser is still remembered, anew
    assert laptop.post("/logout").status_code == 302
    assert laptop.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 200
    assert laptop.post("/login", data={"username": "alice", "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize("current, new, repeat, message", [
    ("wrong password", NEW_PASSWORD, None, "The current password is wrong."),
    (PASSWORD, "short", None, "A password needs at least 8 characters."),
    (PASSWORD, "Alice.Example", None, "A password must not be the username."),
    (PASSWORD, NEW_PASSWORD, "something else", "The two new passwords differ."),
])
def test_a_password_change_is_refused_with_a_reason(app, create_user, client, login, current, new, repeat, message):
    user = create_user("alice.example")
    login(user)
    version, password_hash = user.session_version, user.password_hash
    response = _change(client, current, new, repeat)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert (user.session_version, user.password_hash) == (version, password_hash)


def test_directory_accounts_change_their_password_in_the_directory(app, create_user, client, login):
    user = create_user("alice")
    login(user)
    user.auth_source = "ldap"
    db.session.commit()
    password_hash = user.password_hash
    assert "campus directory" in client.get("/account/password").get_data(as_text=True)
    assert _change(client).status_code == 200
    db.session.refresh(user)
    assert user.password_hash == password_hash
