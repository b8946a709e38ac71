"""The real-OpenLDAP test server (tests/ldap_server.py) behaves as the directory tests need."""
from __future__ import annotations

import ssl

import ldap3
import pytest
from ldap3.core.exceptions import (
    LDAPBindError,
    LDAPInvalidCredentialsResult,
    LDAPNoSuchObjectResult,
)

from .ldap_server import GROUPS, SERVICE_DN, STUDENTS, group, student_dn, student_entry

ORGANISATIONAL_UNIT = {"objectClass": "organizationalUnit"}


@pytest.fixture
def ou(slapd, request):
    """A fresh ou under ``STUDENTS`` for one test, removed with all it holds afterwards."""
    name = request.node.name.replace("[", "-").replace("]", "")
    dn = f"ou={name},{STUDENTS}"
    slapd.add([(dn, {**ORGANISATIONAL_UNIT, "ou": name})])
    yield dn
    slapd.delete(dn, recursive=True)


def in_ou(ou: str, entry):
    dn, attributes = entry
    return dn.replace(STUDENTS, ou), attributes


def returned(connection) -> dict:
    """The attributes (with values) of the one entry the last search returned."""
    [response] = [item for item in connection.response if item["type"] == "searchResEntry"]
    return {name: values for name, values in response["attributes"].items() if values}


def test_the_service_account_reads_a_student_with_a_chinese_name(slapd, ou):
    dn, attributes = in_ou(ou, student_entry("2021000001", "张伟", "M", class_name="计科2101"))
    slapd.add([(dn, attributes), group("test-zhang", [dn])])
    try:
        connection = slapd.connection(SERVICE_DN)
        connection.search(ou, "(xm=张伟)", attributes=["*"])
        [entry] = connection.entries
        assert entry.entry_dn == dn
        assert entry.cn.value == entry.xm.value == entry.displayName.value == "张伟"
        assert (entry.sn.value, entry.givenName.value) == ("张", "伟")
        assert entry.ou.value == entry.yxmc.value == "计算机学院"
        assert entry.departmentNumber.value == entry.bjmc.value == "计科2101"
        assert entry.xjzt.value == "在读"
        assert entry.schacGender.value == entry.xbm.value == "1"
        assert set(entry.objectClass.values) >= {"inetOrgPerson", "eduPerson",
                                                  "schacPersonalCharacteristics", "campusStudent"}
        connection.search(f"cn=test-zhang,{GROUPS}", "(objectClass=groupOfNames)", ldap3.BASE,
                          attributes=["member"])
        assert connection.entries[0].member.values == [dn]
    finally:
        slapd.delete(f"cn=test-zhang,{GROUPS}")


def test_entries_carry_entry_uuid_and_modify_timestamp(slapd, ou):
    dn, attributes = in_ou(ou, student_entry("2021000002", "李娜"))
    slapd.add([(dn, attributes)])
    connection = slapd.connection(SERVICE_DN)
    connection.search(dn, "(objectClass=*)", ldap3.BASE,
                      attributes=["entryUUID", "modifyTimestamp"])
    [entry] = connection.entries
    uuid, stamp = entry.entryUUID.value, entry.modifyTimestamp.value
    assert len(uuid) == 36 and len(stamp) == len("20240901120000Z")
    slapd.modify(dn, {"bjmc": ["计科2102"], "departmentNumber": ["计科2102"]})
    # What an incremental sync asks for: changed since the last run.
    connection.search(ou, f"(&(objectClass=campusStudent)(modifyTimestamp>={stamp}))",
                      attributes=["entryUUID", "modifyTimestamp", "bjmc"])
    [entry] = connection.entries
    assert entry.entryUUID.value == uuid and entry.bjmc.value == "计科2102"
    assert entry.modifyTimestamp.value >= stamp


def test_a_plain_search_hits_the_size_limit_while_a_paged_one_returns_everything(slapd, ou):
    slapd.add(in_ou(ou, student_entry(2022000000 + i, f"学生{i}")) for i in range(600))
    connection = slapd.connection(SERVICE_DN)
    # ldap3 does not raise for sizeLimitExceeded (even with raise_exceptions): it is in the result.
    connection.search(ou, "(objectClass=campusStudent)", attributes=["uid"])
    assert connection.result["description"] == "sizeLimitExceeded"
    assert len(connection.entries) == 500  # what slapd sent before giving up

    paged = connection.extend.standard.paged_search(
        ou, "(objectClass=campusStudent)", attributes=["uid"], paged_size=200, generator=True)
    uids = {entry["attributes"]["uid"][0] for entry in paged if entry["type"] == "searchResEntry"}
    assert len(uids) == 600


@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls_with_the_test_ca_and_certificate_checks_on(slapd, how):
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(slapd.ca_file))
    if how == "starttls":
        connection = slapd.connection(SERVICE_DN, tls=tls, start_tls=True)
    else:
        connection = slapd.connection(SERVICE_DN, url=slapd.ldaps_url, tls=tls)
    assert connection.tls_started or connection.server.ssl
    assert connection.extend.standard.who_am_i() == f"dn:{SERVICE_DN}"
    connection.unbind()


def test_tls_refuses_a_server_it_cannot_verify(slapd):
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED)  # the system CAs do not know our test CA
    with pytest.raises(ldap3.core.exceptions.LDAPSocketOpenError):
        slapd.connection(SERVICE_DN, url=slapd.ldaps_url, tls=tls)


def test_a_wrong_password_is_refused(slapd):
    with pytest.raises(LDAPInvalidCredentialsResult):
        slapd.connection(SERVICE_DN, "not-the-password")
    connection = ldap3.Connection(ldap3.Server(slapd.url), SERVICE_DN, "not-the-password")
    assert connection.bind() is False and connection.result["result"] == 49
    with pytest.raises(LDAPBindError):
        ldap3.Connection(ldap3.Server(slapd.url), SERVICE_DN, "not-the-password", auto_bind=True)


def test_acls(slapd, ou):
    dn, attributes = in_ou(ou, student_entry("2021000003", "王芳", password="student-pw"))
    slapd.add([(dn, attributes)])
    service = slapd.connection(SERVICE_DN)
    service.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["userPassword", "xm"])
    assert returned(service) == {"xm": ["王芳"]}  # userPassword: read by nobody

    student = slapd.connection(dn, "student-pw")  # anonymous auth
    student.modify(dn, {"userPassword": [(ldap3.MODIFY_REPLACE, ["new-pw"])]})  # self write
    student.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["*"])
    assert returned(student)["xm"] == ["王芳"] and "userPassword" not in returned(student)
    slapd.connection(dn, "new-pw").unbind()

    anonymous = slapd.connection(None)
    with pytest.raises(LDAPNoSuchObjectResult):  # slapd does not even disclose that it exists
        anonymous.search(ou, "(objectClass=*)", attributes=["*"])
    assert anonymous.entries == []


def test_data_survive_a_restart(slapd, ou):
    dn, attributes = in_ou(ou, student_entry("2021000004", "刘洋", "M"))
    slapd.add([(dn, attributes)])
    url = slapd.url
    slapd.restart()
    assert slapd.is_running and slapd.url == url
    connection = slapd.connection(SERVICE_DN)
    connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["xm"])
    assert connection.entries[0].xm.value == "刘洋"
    assert slapd.exists(student_dn("2021000004").replace(STUDENTS, ou))
