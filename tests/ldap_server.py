"""A real OpenLDAP server for the tests: ``Slapd(root).start()``.

Each ``Slapd`` owns a directory ``root`` holding its ``slapd.conf``, a
throwaway CA and server certificate (made with ``openssl`` at the first
start), the MDB database and slapd's log. It listens on two free ports on
127.0.0.1: ``url`` (plain LDAP, StartTLS offered) and ``ldaps_url``.

The directory looks like a small campus one::

    dc=example,dc=edu
        ou=services   cn=sync (the read-only service account the app binds as)
        ou=students   uid=<number> (inetOrgPerson + eduPerson + SCHAC + campusStudent)
        ou=staff
        ou=groups     cn=<name> (groupOfNames)

Access: ``userPassword`` is writable by its owner, used for binds, read by
nobody; everything else is readable by the service account and by the entry
itself; anonymous clients read nothing (the root DSE and the schema excepted).
The admin (``ADMIN_DN``, the rootdn; its password, ``admin_password``, is random
per server) is above all of that and all limits.

With ``size_limit=N`` a plain search returns at most N entries (then
sizeLimitExceeded) while a paged search (RFC 2696) returns them all, as in a
production directory with a server-side size limit.

Needs Debian's ``slapd``, ``ldap-utils`` and ``openssl``.
"""
from __future__ import annotations

import atexit
import base64
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Self

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult

from .certificates import make_certificates

BASE = "dc=example,dc=edu"
ADMIN_DN = f"cn=admin,{BASE}"
SERVICES = f"ou=services,{BASE}"
SERVICE_DN = f"cn=sync,{SERVICES}"
SERVICE_PASSWORD = "sync-secret"
STUDENTS = f"ou=students,{BASE}"
STAFF = f"ou=staff,{BASE}"
GROUPS = f"ou=groups,{BASE}"

SCHEMA_DIR = Path(__file__).resolve().parent / "ldap"
SYSTEM_SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

#: ``(dn, {attribute: value or list of values})``; values are str, int or bytes.
Entry = tuple[str, Mapping[str, object]]


def find_tool(name: str) -> str | None:
    """The path of an OpenLDAP/OpenSSL program, also when /usr/sbin is not on PATH."""
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def slapd_available() -> bool:
    return all(find_tool(tool) for tool in ("slapd", "slapadd", "ldapadd", "openssl"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- LDIF -------------------------------------------------------------------

# RFC 2849 SAFE-STRING: ASCII without NUL/LF/CR, not starting with space, ':' or '<'.
_SAFE_STRING = re.compile(r"[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f]"
                          r"[\x01-\x09\x0b\x0c\x0e-\x7f]*")


def _ldif_line(attribute: str, value: object) -> str:
    if isinstance(value, bytes):
        raw = value
    else:
        text = str(value)
        if text == "" or (_SAFE_STRING.fullmatch(text) and not text.endswith(" ")):
            return f"{attribute}: {text}"
        raw = text.encode("utf-8")
    return f"{attribute}:: {base64.b64encode(raw).decode('ascii')}"


def _values(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def entry_ldif(dn: str, attributes: Mapping[str, object]) -> str:
    """One entry as an LDIF record (non-ASCII and unsafe values base64-encoded)."""
    lines = [_ldif_line("dn", dn)]
    for attribute, value in attributes.items():
        lines.extend(_ldif_line(attribute, item) for item in _values(value))
    return "\n".join(lines) + "\n\n"


def write_ldif(path: Path, entries: Iterable[Entry]) -> int:
    """Writes the entries to ``path``; returns how many."""
    count = 0
    with open(path, "w", encoding="ascii") as file:
        for dn, attributes in entries:
            file.write(entry_ldif(dn, attributes))
            count += 1
    return count


# --- the server -------------------------------------------------------------

class Slapd:
    """One slapd, its configuration and data under ``root``; see the module docstring.

    ``start()`` (the first one makes the certificates and the configuration),
    ``seed_base()`` once, then ``add``/``modify``/``delete`` over LDAP as the
    admin, or ``load_offline`` for big loads. ``restart()`` keeps data and ports.
    """

    startup_timeout = 10.0

    def __init__(self, root: Path, size_limit: int | None = None) -> None:
        self.root = Path(root)
        self.size_limit = size_limit
        self.port = _free_port()
        self.ldaps_port = _free_port()
        while self.ldaps_port == self.port:
            self.ldaps_port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://127.0.0.1:{self.ldaps_port}"
        self.config_file = self.root / "slapd.conf"
        self.data_dir = self.root / "data"
        self.log_file = self.root / "slapd.log"
        self.ca_file = self.root / "ca.crt"
        self.cert_file = self.root / "server.crt"
        self.key_file = self.root / "server.key"
        self.base = BASE
        # Random per server: the readiness check's bind cannot succeed against
        # another slapd that happens to hold our port.
        self.admin_dn, self.admin_password = ADMIN_DN, f"admin-{secrets.token_hex(8)}"
        self.service_dn, self.service_password = SERVICE_DN, SERVICE_PASSWORD
        self._process: subprocess.Popen | None = None
        self._stop_at_exit = False

    # -- lifecycle

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.is_running:
            return
        slapd = find_tool("slapd")
        if slapd is None:
            raise RuntimeError("slapd is not installed (Debian: apt-get install slapd ldap-utils)")
        self._prepare()
        if not self._stop_at_exit:  # no slapd left behind if the tests end without stop()
            atexit.register(self.stop)
            self._stop_at_exit = True
        # The log goes to a file, not a pipe: nobody would drain a pipe while tests run.
        with open(self.log_file, "ab") as log:
            # -d keeps slapd in the foreground; level 32768 ("none") still prints
            # errors, which -d 0 would swallow. No -u/-g: it runs as we do.
            self._process = subprocess.Popen(
                [slapd, "-f", str(self.config_file), "-h", f"{self.url} {self.ldaps_url}",
                 "-d", "32768"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        self._wait_until_ready()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # a clean shutdown syncs the database
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                self.connection().unbind()
                return
            except LDAPException as error:
                last_error = error
                time.sleep(0.05)
        returncode = self._process.poll()
        self.stop()
        state = f"exited with {returncode}" if returncode is not None else "did not accept a bind"
        raise RuntimeError(
            f"slapd {state} within {self.startup_timeout:.0f} s ({self.url}, {self.ldaps_url}); "
            f"last error: {last_error}\n--- {self.log_file} ---\n{self._log_tail()}")

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- configuration

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        if not self.cert_file.exists():
            self._make_certificates()
        self._write_config()

    def _make_certificates(self) -> None:
        make_certificates(self.root, self.ca_file, self.cert_file, self.key_file)

    def _write_config(self) -> None:
        schemas = [SYSTEM_SCHEMA_DIR / f"{name}.schema"
                   for name in ("core", "cosine", "inetorgperson")]
        schemas += [SCHEMA_DIR / "eduperson.schema", SCHEMA_DIR / "campus.schema"]
        includes = "\n".join(f'include "{path}"' for path in schemas)
        if self.size_limit is None:
            limits = ""
        else:
            # soft=hard=N caps plain searches; prtotal=unlimited lets a paged
            # search go past N in total (it would otherwise default to hard).
            limits = (f"sizelimit size.soft={self.size_limit} size.hard={self.size_limit} "
                      "size.prtotal=unlimited\n")
        self.config_file.write_text(f"""\
# Written by tests/ldap_server.py; rewritten at every start.
{includes}

pidfile "{self.root / 'slapd.pid'}"
argsfile "{self.root / 'slapd.args'}"
modulepath {MODULE_DIR}
moduleload back_mdb

TLSCACertificateFile "{self.ca_file}"
TLSCertificateFile "{self.cert_file}"
TLSCertificateKeyFile "{self.key_file}"

database mdb
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {self.admin_password}
directory "{self.data_dir}"
maxsize 1073741824
# A test server: no fsync per write (a clean stop still syncs).
dbnosync
{limits}
index objectClass eq
index uid eq
index employeeNumber eq
index modifyTimestamp eq

access to attrs=userPassword
    by self =w
    by anonymous auth
    by * none
access to *
    by dn.exact="{SERVICE_DN}" read
    by self read
    by * none
""")

    # -- talking to it

    def connection(self, user: str | None = ADMIN_DN, password: str | None = None, *,
                   url: str | None = None, tls: ldap3.Tls | None = None,
                   start_tls: bool = False, **kwargs) -> ldap3.Connection:
        """A bound ldap3 connection (the admin by default; ``user=None`` for anonymous).

        Raises ``LDAPBindError`` on a wrong password. ``SERVICE_DN`` and
        ``ADMIN_DN`` get their passwords filled in.
        """
        if password is None:
            password = {ADMIN_DN: self.admin_password, SERVICE_DN: SERVICE_PASSWORD}.get(user)
        server = ldap3.Server(url or self.url, tls=tls, get_info=ldap3.NONE, connect_timeout=5)
        connection = ldap3.Connection(server, user=user, password=password, receive_timeout=30,
                                      raise_exceptions=True, **kwargs)
        connection.open()
        if start_tls:
            connection.start_tls()
        connection.bind()
        return connection

    def seed_base(self) -> None:
        """The suffix, the service account and the ous; does nothing if they exist."""
        if self.exists(BASE):
            return
        self.add([
            (BASE, {"objectClass": ["dcObject", "organization"], "dc": "example",
                    "o": "Example University"}),
            (SERVICES, {"objectClass": "organizationalUnit", "ou": "services"}),
            (SERVICE_DN, {"objectClass": ["applicationProcess", "simpleSecurityObject"],
                          "cn": "sync", "description": "dorms directory sync (read-only)",
                          "userPassword": SERVICE_PASSWORD}),
            (STUDENTS, {"objectClass": "organizationalUnit", "ou": "students"}),
            (STAFF, {"objectClass": "organizationalUnit", "ou": "staff"}),
            (GROUPS, {"objectClass": "organizationalUnit", "ou": "groups"}),
        ])

    def exists(self, dn: str) -> bool:
        connection = self.connection()
        try:
            connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"])
            return bool(connection.entries)
        except LDAPNoSuchObjectResult:
            return False
        finally:
            connection.unbind()

    def add(self, entries: Iterable[Entry]) -> int:
        """Adds the entries as the admin (``ldapadd -c``, one connection); returns how many.

        Parents must come before their children. Raises ``RuntimeError``
        listing every entry that failed (the others are added).
        """
        ldif = "".join(entry_ldif(dn, attributes) for dn, attributes in entries)
        if not ldif:
            return 0
        result = subprocess.run(
            [find_tool("ldapadd") or "ldapadd", "-c", "-x", "-H", self.url,
             "-D", ADMIN_DN, "-w", self.admin_password],
            check=False, input=ldif.encode("ascii"), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        if result.returncode != 0:
            raise RuntimeError(f"ldapadd failed ({result.returncode}):\n"
                               + result.stderr.decode("utf-8", "replace")[-4000:])
        return ldif.count("\n\n")

    def modify(self, dn: str, changes: Mapping[str, object]) -> None:
        """Replaces each attribute's values (an empty list or None removes the attribute)."""
        connection = self.connection()
        try:
            connection.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, _values(value))]
                                   for attribute, value in changes.items()})
        finally:
            connection.unbind()

    def delete(self, dn: str, *, recursive: bool = False) -> None:
        """Deletes the entry (with ``recursive=True``, its whole subtree, deepest first, over one connection)."""
        connection = self.connection()
        try:
            doomed = [dn]
            if recursive:
                doomed = [item["dn"] for item in connection.extend.standard.paged_search(
                    dn, "(objectClass=*)", ldap3.SUBTREE, attributes=["1.1"], paged_size=1000, generator=False)
                    if item.get("type") == "searchResEntry"]
                doomed.sort(key=lambda d: d.count(","), reverse=True)
            for entry_dn in doomed:
                connection.delete(entry_dn)
        finally:
            connection.unbind()

    def load_offline(self, entries: Iterable[Entry]) -> int:
        """For benchmarks: adds many entries (say 50,000) with ``slapadd``, slapd stopped.

        Much faster than ``add``: no LDAP round trips, one MDB transaction.
        slapd is stopped for the load and started again if it was running
        (same ports). slapadd adds the operational attributes (entryUUID,
        entryCSN, createTimestamp, modifyTimestamp, creatorsName, ...) as an
        online add would. Entries must be new and their parents must exist or
        come first; ``-q`` does fewer checks, so feed it clean data. Returns
        how many were loaded.
        """
        ldif_file = self.root / "offline.ldif"
        count = write_ldif(ldif_file, entries)
        was_running = self.is_running
        self.stop()
        self._prepare()
        try:
            result = subprocess.run(
                [find_tool("slapadd") or "slapadd", "-f", str(self.config_file), "-q",
                 "-l", str(ldif_file)],
                check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                cwd=self.root)
            if result.returncode != 0:
                raise RuntimeError(f"slapadd failed ({result.returncode}):\n"
                                   + result.stderr.decode("utf-8", "replace")[-4000:])
        finally:
            ldif_file.unlink(missing_ok=True)
            if was_running:
                self.start()
        return count


# --- entries ----------------------------------------------------------------

_GENDER_CODES = {"m": "1", "male": "1", "1": "1", "男": "1",
                 "f": "2", "female": "2", "2": "2", "女": "2"}


def student_dn(number: str) -> str:
    return f"uid={number},{STUDENTS}"


def student_entry(number: str | int, name: str, gender: str = "F", *,
                  college: str = "计算机学院", major: str = "计算机科学与技术",
                  class_name: str = "计科2101", grade: str | int = "2021",
                  status: str = "在读", password: str | None = None,
                  mail: str | None = None, surname: str | None = None,
                  given_name: str | None = None, **extra: object) -> Entry:
    """A student as a campus directory holds one, under ``STUDENTS`` with ``uid=number``.

    The standard attributes (cn, sn, ou = college, departmentNumber = class,
    schacGender 1 male / 2 female, ...) and the campusStudent ones (xh, xm,
    xbm, yxmc, zymc, bjmc, nj, xjzt) carry the same values. A Chinese name
    splits into surname = first character, given name = the rest, unless
    ``surname``/``given_name`` say otherwise. ``extra`` attributes are added
    (or override) as they are; a None value drops an attribute.
    """
    number = str(number)
    code = _GENDER_CODES[str(gender).strip().lower()]
    if surname is None:
        if " " in name.strip():
            given_default, surname = name.strip().rsplit(" ", 1)
        else:
            surname, given_default = name[:1], name[1:] or name
    else:
        given_default = name.removeprefix(surname) or name
    attributes: dict[str, object] = {
        "objectClass": ["inetOrgPerson", "eduPerson", "schacPersonalCharacteristics",
                        "campusStudent"],
        "uid": number,
        "employeeNumber": number,
        "cn": name,
        "sn": surname,
        "givenName": given_name or given_default,
        "displayName": name,
        "mail": mail or f"{number}@stu.example.edu",
        "ou": college,
        "departmentNumber": class_name,
        "eduPersonAffiliation": "student",
        "eduPersonPrincipalName": f"{number}@example.edu",
        "schacGender": code,
        "userPassword": password,
        "xh": number,
        "xm": name,
        "xbm": code,
        "yxmc": college,
        "zymc": major,
        "bjmc": class_name,
        "nj": str(grade),
        "xjzt": status,
    }
    attributes.update(extra)
    return student_dn(number), {key: value for key, value in attributes.items()
                                if value is not None}


def group(cn: str, member_dns: Iterable[str]) -> Entry:
    """A groupOfNames under ``GROUPS``. With no members, the one member is the
    empty DN (groupOfNames needs one), as directories usually do it."""
    members = list(member_dns) or [""]
    return f"cn={cn},{GROUPS}", {"objectClass": "groupOfNames", "cn": cn, "member": members}


def many_students(count: int, *, start: int = 2021000001, **kwargs) -> Iterator[Entry]:
    """``count`` students numbered from ``start``, alternating F/M, for bulk loads."""
    for index in range(count):
        yield student_entry(start + index, f"学生{index:05d}", "F" if index % 2 == 0 else "M",
                            **kwargs)
