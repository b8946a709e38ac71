"""Configuration from the environment."""
import os
import stat

from dorms import create_app
from dorms.config import normalise_database_url


def test_the_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DORMS_SECRET_KEY", raising=False)
    monkeypatch.setenv("DORMS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    first = create_app(instance_path=str(tmp_path / "instance")).config["SECRET_KEY"]
    second = create_app(instance_path=str(tmp_path / "instance")).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DORMS_SECRET_KEY", "from-env")
    monkeypatch.setenv("DORMS_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("DORMS_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("DORMS_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("DORMS_ALLOCATION_WORK_RATE", "450000")
    monkeypatch.setenv("DORMS_PHOTO_MAX_MB", "2.5")
    monkeypatch.setenv("DORMS_CHECKIN_ACK_HOURS", "48")
    monkeypatch.setenv("DORMS_CHECKIN_SELF_SERVICE", "off")
    config = create_app(instance_path=str(tmp_path)).config
    assert (config["CHECKIN_ACK_HOURS"], config["CHECKIN_SELF_SERVICE"]) == (48, False)
    assert config["PHOTO_MAX_BYTES"] == 2.5 * 1024 * 1024
    assert config["ALLOCATION_WORK_RATE"] == 450_000
    assert config["SECRET_KEY"] == "from-env"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Urumqi"
    assert config["BABEL_DEFAULT_LOCALE"] == "en"


def test_directory_settings_rank_environment_then_instance_file_then_create_app(tmp_path, monkeypatch):
    monkeypatch.setenv("DORMS_LDAP_URL", "ldap://from-env")
    monkeypatch.setenv("DORMS_LDAP_BASE_DN", "dc=env")
    monkeypatch.setenv("DORMS_LDAP_PAGE_SIZE", "300")
    (tmp_path / "config.py").write_text('LDAP_URL = "ldap://from-file"\nLDAP_BASE_DN = "dc=file"\n')
    config = create_app({"LDAP_URL": "ldap://given"}, instance_path=str(tmp_path)).config
    assert (config["LDAP_URL"], config["LDAP_BASE_DN"], config["LDAP_PAGE_SIZE"]) == ("ldap://given", "dc=file", 300)
    assert config["LDAP_FILTER"] == "(objectClass=inetOrgPerson)"  # unset anywhere: the default


def test_the_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DORMS_DATABASE_URL", raising=False)
    config = create_app(instance_path=str(tmp_path)).config
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'dorms.sqlite3'}"


def test_database_urls_get_the_psycopg_driver():
    assert normalise_database_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("postgresql+psycopg://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"
