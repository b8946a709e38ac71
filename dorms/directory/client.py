"""Talking to the campus directory with ldap3: connections, the service bind, paged searches, user binds.

Certificates are checked by default (ldaps:// and StartTLS); every search pages (RFC 2696), and a
result the server cut short is an error, never a short list of students.
"""
from __future__ import annotations

import math
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from .settings import DirectorySettings

PAGED_RESULTS = "1.2.840.113556.1.4.319"  # RFC 2696
NO_SUCH_OBJECT = 32


class DirectoryError(RuntimeError):
    """The directory could not be read completely (why, in words staff can act on)."""


@dataclass
class Entry:
    dn: str
    attributes: dict[str, list[str]]  # lower-case attribute name -> values
    undecodable: list[str]  # attributes whose values are not UTF-8


def _server(settings: DirectorySettings) -> ldap3.Server:
    url = urlparse(settings.url)
    if url.scheme not in ("ldap", "ldaps") or not url.hostname:
        raise DirectoryError(f"DORMS_LDAP_URL must be ldap://host[:port] or ldaps://host[:port], not {settings.url!r}")
    use_ssl = url.scheme == "ldaps"
    tls = None
    if use_ssl or settings.start_tls:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                        ca_certs_file=settings.ca_file or None)
    return ldap3.Server(url.hostname, port=url.port or (636 if use_ssl else 389), use_ssl=use_ssl, tls=tls,
                        get_info=ldap3.NONE, connect_timeout=settings.timeout)


def connect(settings: DirectorySettings, user: str | None = None, password: str | None = None) -> ldap3.Connection:
    """An open, bound connection: as the service account, or as ``user`` when given.

    Raises DirectoryError when the server cannot be reached or refuses the bind."""
    user = settings.bind_dn if user is None else user
    password = settings.bind_password if password is None else password
    if not user or not password:
        # An empty password is an unauthenticated bind (RFC 4513 5.1.2): it "succeeds" as nobody.
        raise DirectoryError("anonymous and empty-password binds are refused")
    connection = ldap3.Connection(_server(settings), user=user, password=password, authentication=ldap3.SIMPLE,
                                  receive_timeout=math.ceil(settings.timeout), read_only=True, raise_exceptions=False,
                                  auto_referrals=False, check_names=False)
    try:
        connection.open()
        if settings.start_tls and not connection.server.ssl and not connection.start_tls():
            raise DirectoryError(f"StartTLS failed: {connection.result.get('description')}")
        if not connection.bind():
            raise BindRefused(f"the directory refused the bind as {user}: {connection.result.get('description')}")
    except ldap_errors.LDAPException as error:
        connection.unbind()
        raise DirectoryError(f"cannot reach the directory at {settings.url}: {error}") from error
    except DirectoryError:
        connection.unbind()
        raise
    return connection


class BindRefused(DirectoryError):
    """Wrong credentials (of the service account or of a user signing in)."""


class NoSuchEntry(DirectoryError):
    """The search base does not exist."""


def paged_search(connection: ldap3.Connection, base: str, search_filter: str, attributes: list[str],
                 page_size: int) -> Iterator[Entry]:
    """Every entry below ``base`` matching ``search_filter``, page by page.

    Anything short of a complete answer raises DirectoryError: a size limit, a server that ignores
    the paging control, a base that does not exist, a dropped connection or a timeout."""
    cookie = None
    while True:
        try:
            connection.search(base, search_filter, search_scope=ldap3.SUBTREE, attributes=attributes,
                              paged_size=page_size, paged_cookie=cookie, paged_criticality=True)
        except ldap_errors.LDAPException as error:
            raise DirectoryError(f"the directory stopped answering: {error}") from error
        result = connection.result
        if result["result"] == NO_SUCH_OBJECT:
            raise NoSuchEntry(f"the search of {base} failed: noSuchObject: it does not exist")
        if result["result"] != 0:
            raise DirectoryError(f"the search of {base} failed: {result['description']} "
                                 f"({result.get('message') or 'no message'})")
        control = (result.get("controls") or {}).get(PAGED_RESULTS)
        if control is None:
            raise DirectoryError("the directory ignored the paged-results control, so the answer may be cut short")
        for item in connection.response:
            if item.get("type") == "searchResEntry":
                yield _entry(item)
        cookie = control["value"]["cookie"]
        if not cookie:
            return


def _entry(item: dict) -> Entry:
    # Without name checks ldap3 has decoded the values as UTF-8 already, leaving bytes where it could not.
    attributes, undecodable = {}, []
    for name, values in item["attributes"].items():
        if any(isinstance(v, bytes) for v in values):
            undecodable.append(name)
        else:
            attributes[name.lower()] = values
    return Entry(item["dn"], attributes, undecodable)


def find_one(connection: ldap3.Connection, base: str, search_filter: str, attributes: list[str]) -> Entry | None:
    """The single entry matching, or None (also when several match: ambiguous is no match)."""
    entries = list(paged_search(connection, base, search_filter, attributes, page_size=2))
    return entries[0] if len(entries) == 1 else None


def user_filter(template: str, username: str) -> str:
    """The sign-in filter with ``username`` escaped (RFC 4515), so it cannot change the filter."""
    return template.replace("{username}", escape_filter_chars(username))
