"""The campus directory's settings, from the app config (directory.init_app fills what it leaves unset from DORMS_LDAP_*)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from .mapping import AttributeMap

# Environment variable -> (config key, default, type). The README documents each.
ENVIRONMENT = {
    "DORMS_LDAP_URL": ("LDAP_URL", None, str),
    "DORMS_LDAP_BIND_DN": ("LDAP_BIND_DN", None, str),
    "DORMS_LDAP_BIND_PASSWORD": ("LDAP_BIND_PASSWORD", None, str),
    "DORMS_LDAP_BASE_DN": ("LDAP_BASE_DN", None, str),
    "DORMS_LDAP_FILTER": ("LDAP_FILTER", "(objectClass=inetOrgPerson)", str),
    "DORMS_LDAP_CA_FILE": ("LDAP_CA_FILE", None, str),
    "DORMS_LDAP_START_TLS": ("LDAP_START_TLS", False, bool),
    "DORMS_LDAP_ATTRIBUTE_MAP": ("LDAP_ATTRIBUTE_MAP", None, str),
    "DORMS_LDAP_TIMEOUT": ("LDAP_TIMEOUT", 10.0, float),
    "DORMS_LDAP_PAGE_SIZE": ("LDAP_PAGE_SIZE", 500, int),
    "DORMS_LDAP_MAX_DEACTIVATE_SHARE": ("LDAP_MAX_DEACTIVATE_SHARE", 0.05, float),
    "DORMS_LDAP_USER_BASE_DN": ("LDAP_USER_BASE_DN", None, str),
    "DORMS_LDAP_USER_FILTER": ("LDAP_USER_FILTER", "(uid={username})", str),
    "DORMS_LDAP_STAFF_GROUP": ("LDAP_STAFF_GROUP", None, str),
    "DORMS_LDAP_COUNSELOR_GROUP": ("LDAP_COUNSELOR_GROUP", None, str),
    "DORMS_LDAP_STUDENT_GROUP": ("LDAP_STUDENT_GROUP", None, str),
}


# Config key -> (default, type): the same table, keyed the way the app config is.
DEFAULTS = {key: (default, kind) for key, default, kind in ENVIRONMENT.values()}


def from_environment() -> dict:
    """The DORMS_LDAP_* variables that are set, as config entries."""
    config = {}
    for variable, (key, default, kind) in ENVIRONMENT.items():
        raw = os.environ.get(variable)
        if raw is None or raw == "":
            config[key] = default
        elif kind is bool:
            config[key] = raw.strip().lower() in ("1", "true", "yes", "on")
        else:
            config[key] = kind(raw)
    return config


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    bind_dn: str
    bind_password: str
    base_dn: str
    filter: str
    ca_file: str | None
    start_tls: bool
    timeout: float
    page_size: int
    max_deactivate_share: float
    user_base_dn: str
    user_filter: str
    staff_group: str | None
    counselor_group: str | None
    student_group: str | None
    attributes: AttributeMap

    @classmethod
    def from_config(cls, config=None) -> DirectorySettings:
        config = config if config is not None else current_app.config
        missing = [v for v, (key, *_) in ENVIRONMENT.items()
                   if v in ("DORMS_LDAP_URL", "DORMS_LDAP_BIND_DN", "DORMS_LDAP_BIND_PASSWORD", "DORMS_LDAP_BASE_DN")
                   and not config.get(key)]
        if missing:
            raise DirectoryNotConfigured(", ".join(missing))
        def setting(key: str):
            """The configured value, or ENVIRONMENT's default when it is unset or empty."""
            value = config.get(key)
            if value is None or value == "":
                return DEFAULTS[key][0]
            kind = DEFAULTS[key][1]
            return value if kind is bool else kind(value)

        map_file = setting("LDAP_ATTRIBUTE_MAP")
        return cls(
            url=setting("LDAP_URL"), bind_dn=setting("LDAP_BIND_DN"), bind_password=setting("LDAP_BIND_PASSWORD"),
            base_dn=setting("LDAP_BASE_DN"), filter=setting("LDAP_FILTER"), ca_file=setting("LDAP_CA_FILE"),
            start_tls=bool(setting("LDAP_START_TLS")), timeout=setting("LDAP_TIMEOUT"),
            page_size=setting("LDAP_PAGE_SIZE"), max_deactivate_share=setting("LDAP_MAX_DEACTIVATE_SHARE"),
            user_base_dn=setting("LDAP_USER_BASE_DN") or setting("LDAP_BASE_DN"),
            user_filter=setting("LDAP_USER_FILTER"), staff_group=setting("LDAP_STAFF_GROUP"),
            counselor_group=setting("LDAP_COUNSELOR_GROUP"), student_group=setting("LDAP_STUDENT_GROUP"),
            attributes=AttributeMap.load(Path(map_file)) if map_file else AttributeMap.default(),
        )


def is_configured(config=None) -> bool:
    config = config if config is not None else current_app.config
    return bool(config.get("LDAP_URL"))


class DirectoryNotConfigured(RuntimeError):
    """Settings the directory needs are missing (names them)."""
