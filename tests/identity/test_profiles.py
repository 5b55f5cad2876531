"""Profiles: device subjects and SANs are built from the device's identity; bad ids are refused."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from iotwarden.errors import IdentityError
from iotwarden.identity import profiles


def test_device_subject_carries_id_serial_model_and_organisation() -> None:
    name = profiles.device_subject("cam-01", serial="SN123", model="DS-2CD2", organization="Example Corp")
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "cam-01"
    assert name.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "SN123"
    assert name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "DS-2CD2"
    assert profiles.common_name(name) == "cam-01"


def test_sans_include_dns_ip_and_the_mac_as_a_device_urn() -> None:
    sans = profiles.device_sans(dns=["cam-01.lan"], ips=["10.0.0.5"], mac="00:11:22:AA:BB:CC")
    assert sans == [x509.DNSName("cam-01.lan"), x509.IPAddress(ipaddress.ip_address("10.0.0.5")),
                    x509.UniformResourceIdentifier("urn:dev:mac:001122aabbcc")]


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "cam/01", "cam\n01", "#"])
def test_device_ids_that_cannot_be_usernames_or_file_names_are_refused(bad: str) -> None:
    with pytest.raises(IdentityError):
        profiles.device_subject(bad)


def test_limits_on_sans_and_addresses() -> None:
    with pytest.raises(IdentityError, match="subjectAltName"):
        profiles.device_sans(dns=[f"h{i}.lan" for i in range(profiles.MAX_SANS + 1)])
    with pytest.raises(IdentityError, match="IP"):
        profiles.device_sans(ips=["10.0.0.300"])
    with pytest.raises(IdentityError, match="MAC"):
        profiles.device_sans(mac="00:11")


def test_profiles_say_what_each_certificate_may_do() -> None:
    assert profiles.DEVICE.extended_key_usage() == x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
    assert profiles.DEVICE.lifetime_days <= 90  # short-lived device certificates
    assert profiles.ISSUING_CA.key_usage(rsa_key=False).key_cert_sign
    assert profiles.DEVICE.key_usage(rsa_key=True).key_encipherment
    assert not profiles.DEVICE.key_usage(rsa_key=False).key_encipherment
    with pytest.raises(IdentityError):
        profiles.get("root-ca")  # CA profiles are not issuable to devices


@pytest.mark.parametrize("name", ["localhost", "cam-01.example.com", "*.devices.example", "xn--bcher-kva.example",
                                  "example.com.", "a" * 63 + ".example"])
def test_dns_names_in_preferred_name_syntax_are_taken_as_given(name: str) -> None:
    assert profiles.check_dns_name(name) == name
    assert profiles.device_sans(dns=[name]) == [x509.DNSName(name)]


@pytest.mark.parametrize("name", ["-bad-..", "", "a..b", "-lead.example", "trail-.example", "sp ace.example",
                                  "under_score.example", "a.*.example", "*.example", "a" * 64 + ".example",
                                  ("a" * 63 + ".") * 4 + "example", "bücher.example"])
def test_a_name_that_is_no_dns_name_is_refused_before_anything_is_signed(name: str) -> None:
    with pytest.raises(IdentityError, match="invalid DNS name"):
        profiles.device_sans(dns=[name])


@pytest.mark.parametrize("url", ["http://crl.example/ca.crl", "https://pki.example:8443/ca.crl",
                                 "ldap://ldap.example/cn=CA?certificateRevocationList", "http://[2001:db8::1]/c"])
def test_crl_locations_are_http_or_ldap_urls_naming_a_host(url: str) -> None:
    assert profiles.check_location(url, "--crl-url", ("http", "https", "ldap")) == url


@pytest.mark.parametrize("url", ["not a url", "crl.example/ca.crl", "file:///etc/ca.crl", "http://", "http:///x",
                                 "http://crl.example:99999/ca.crl", "http://crl.example/a b", "ftp://crl.example/c"])
def test_anything_else_is_refused_naming_the_option(url: str) -> None:
    with pytest.raises(IdentityError, match=r"^--crl-url: not a URL of scheme http/https/ldap naming a host"):
        profiles.check_location(url, "--crl-url", ("http", "https", "ldap"))
