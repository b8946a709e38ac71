"""Signing in and out, local passwords, rate limits and CSRF."""
import pytest
import werkzeug.security

from dorms.auth import models as auth_models
from dorms.core.enums import Role
from dorms.extensions import db

from .factories import PASSWORD


def test_sign_in_and_out(client, create_user):
    user = create_user("Alice")
    response = client.post("/login", data={"username": " ALICE ", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302
    assert user.last_login_at is not None


def test_a_wrong_password_is_refused(client, create_user):
    create_user("alice")
    response = client.post("/login", data={"username": "alice", "password": "wrong password"})
    assert response.status_code == 200
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_disabled_account_cannot_sign_in(client, create_user):
    user = create_user("alice")
    user.active = False
    db.session.commit()
    assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 200


def test_passwords_are_stored_hashed(client, create_user, monkeypatch):
    """The suite hashes cheaply (conftest); this test puts production's default back."""
    monkeypatch.setattr(auth_models, "generate_password_hash", werkzeug.security.generate_password_hash)
    user = create_user("alice")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 302



class TestRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "DORMS_LOGIN_LIMIT": "3 per minute",
                "DORMS_LOGIN_ADDRESS_LIMIT": "5 per minute"}

    def test_repeated_failures_are_stopped(self, client, create_user):
        create_user("alice")
        for _ in range(3):
            assert client.post("/login", data={"username": "alice", "password": "nope nope"}).status_code == 200
        assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 429

    @pytest.mark.backends("sqlite", "postgresql")
    def test_failures_from_another_address_never_lock_the_owner_out(self, client, create_user):
        create_user("alice")

        def attempt(address, password="nope"):
            return client.post("/login", data={"username": "alice", "password": password},
                               environ_base={"REMOTE_ADDR": address}).status_code

        assert [attempt("10.0.0.66") for _ in range(4)] == [200, 200, 200, 429]
        assert attempt("10.0.0.1", PASSWORD) == 302

    @pytest.mark.backends("sqlite", "postgresql")
    def test_guessing_the_current_password_on_the_password_page_is_stopped(self, client, create_user, login):
        login(create_user("alice"))

        def attempt(current):
            return client.post("/account/password", data={"current_password": current, "new_password": "new one!",
                                                          "repeat_password": "new one!"}).status_code

        assert [attempt(f"guess {n}") for n in range(4)] == [200, 200, 200, 429]

    @pytest.mark.backends("sqlite", "postgresql")
    def test_one_address_guessing_at_many_accounts_is_stopped(self, client):
        def attempt(n):
            return client.post("/login", data={"username": f"user{n}", "password": "nope"}).status_code

        assert [attempt(n) for n in range(6)] == [200] * 5 + [429]

    def test_successes_do_not_count(self, client, create_user):
        create_user("alice")
        for _ in range(5):
            assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 302
            client.post("/logout")


class TestRateLimitBehindAProxy:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "DORMS_LOGIN_ADDRESS_LIMIT": "3 per minute",
                "DORMS_PROXY_COUNT": 1}

    def test_the_limit_is_per_real_client_address(self, client):
        def attempt(n, address):
            return client.post("/login", data={"username": f"nobody{n}", "password": "nope"},
                               headers={"X-Forwarded-For": address}).status_code

        assert [attempt(n, "203.0.113.7") for n in range(4)] == [200, 200, 200, 429]
        assert attempt(9, "198.51.100.1") == 200  # another student behind the same proxy


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_posts_without_a_token_are_refused(self, client, create_user):
        create_user("alice", role=Role.STAFF)
        assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "evil"])
def test_sign_in_and_language_switch_never_redirect_off_site(client, create_user, target):
    create_user("alice")
    response = client.post("/login", query_string={"next": target}, data={"username": "alice", "password": PASSWORD})
    assert response.headers["Location"] == "/"
    response = client.post("/language/en", data={"next": target})
    assert response.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(client, create_user):
    create_user("alice")
    response = client.post("/login?next=/students/%3Fq%3D1", data={"username": "alice", "password": PASSWORD})
    assert response.headers["Location"] == "/students/?q=1"


@pytest.mark.backends("sqlite", "postgresql")
def test_an_unknown_user_costs_the_same_password_check_as_a_known_one(client, create_user, monkeypatch):
    """Counted, not timed: every refusal checks one hash, made with the method real passwords use."""
    checked = []

    def counting(password_hash, password):
        checked.append(password_hash.split("$", 1)[0])
        return werkzeug.security.check_password_hash(password_hash, password)

    monkeypatch.setattr(auth_models, "check_password_hash", counting)
    create_user("alice")
    create_user("bob").auth_source = "ldap"
    db.session.commit()
    for username in ("alice", "nobody", "bob"):
        client.post("/login", data={"username": username, "password": "wrong password"})
    assert len(checked) == 3 and len(set(checked)) == 1
