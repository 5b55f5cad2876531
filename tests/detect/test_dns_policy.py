"""detect/dns_policy: mail and domain policy TXT records are told by their syntax; free-form payloads, made-up terms
and names carrying encoded data are not policy records."""

from __future__ import annotations

import base64

import pytest

from iotwarden.detect.dns_policy import data_label, host_name, policy_record

RSA_KEY = base64.b64encode(b"\x30\x81\x9f\x30\x0d\x06\x09" + bytes(155)).decode()
ED25519_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("record", [
    # SPF, RFC 7208 (the records of Google, Microsoft 365, Salesforce's macro form)
    "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all",
    "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ~all",
    "v=spf1 include:spf.protection.outlook.com -all",
    "v=spf1 exists:%{i}._spf.mta.salesforce.com -all",
    "v=spf1 a mx a:mail.example.com/24 mx/24 ptr:example.com ?all",
    "v=spf1 redirect=_spf.example.com", "v=spf1 -all", "V=SPF1 include:spf1-amazonses.com ~ALL",
    # DKIM keys, RFC 6376 §3.6.1 (one may be split in strings; a revoked key is empty)
    f"v=DKIM1; k=rsa; p={RSA_KEY}", f"k=rsa; h=sha256; t=s; p={RSA_KEY}", f"v=DKIM1; k=ed25519; p={ED25519_KEY}",
    "v=DKIM1; p=",
    # DMARC (RFC 7489), MTA-STS (RFC 8461), TLS-RPT (RFC 8460), BIMI
    "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com,mailto:agg@rep.example.net!10m; pct=100; "
    "adkim=s; aspf=r; fo=1; ri=86400",
    "v=STSv1; id=20190429T010101;", "v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
    "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
    "v=BIMI1; l=https://example.com/bimi/logo.svg; a=https://example.com/bimi/vmc.pem", "v=BIMI1; l=; a=",
])
def test_mail_and_domain_policy_records_are_told_by_their_syntax(record: str) -> None:
    assert policy_record([record])


def test_a_record_split_in_strings_is_read_joined() -> None:
    """RFC 7208 §3.3 and RFC 6376 §3.6.2.2: a TXT record's strings are joined with nothing between them."""
    record = f"v=DKIM1; k=rsa; p={RSA_KEY}"
    assert policy_record([record[:40], record[40:]])


@pytest.mark.parametrize("record", [
    "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBjb21tYW5kIGZvciB0aGUgYm90",  # a base64 blob
    "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ",  # a token, no policy
    f"v=spf1 include:{'3f9a0c17' * 7 + 'b2e4'}.evil.example ~all",  # 60 hex characters in a label
    "v=spf1 include:4f2a9c81e3d07b56.c2.evil.example ~all",  # 16 high-entropy characters with digits
    f"v=spf1 include:{'a' * 40}.evil.example ~all",  # a label too long for a host's
    "v=spf1 ip4:198.51.100.7 cmd=download-and-run ~all",  # an unknown modifier's free text
    "v=spf1 ip4:not-an-address ~all", "v=spf1 all:example.com", "v=spf1 include:localhost ~all",
    "v=spf1 run this command",
    "v=DKIM1; k=rsa; p=SGVsbG8gd29ybGQ=",  # base64, but no DER key
    f"v=DKIM1; k=rsa; n=run the payload; p={RSA_KEY}",  # notes are free text
    "v=DKIM1; k=ed25519; p=SGVsbG8gd29ybGQ=",  # not 32 octets
    "v=DKIM1; k=rsa; p=!!!notbase64", "v=DKIM2; p=",
    "v=DMARC1; p=reject; cmd=exec", "v=DMARC1; p=maybe",
    "v=DMARC1; p=none; rua=mailto:7d3f9a1c2b84e6f05a9b3c7d1e2f40@x.example",
    "p=reject; v=DMARC1",  # v must come first
    "v=STSv1; id=this-is-not-alphanumeric", "v=STSv1; id=abc; payload=x",
    "v=TLSRPTv1; rua=ftp://example.com/x", "v=BIMI1; l=https://9c1e5a7f3b42d8e06a1f.evil.example/logo.svg",
    "", "v=spf1 include:_spf.google.com ~all; v=DMARC1",
])
def test_payloads_and_made_up_terms_are_no_policy_records(record: str) -> None:
    assert not policy_record([record])


def test_a_data_label_is_long_or_mixes_digits_at_high_entropy() -> None:
    assert data_label("a" * 33) and data_label("3f9a0c17b2e4d5a6") and not data_label("spf-protection-outlook")
    assert not data_label("_netblocks3") and not data_label("aaaa1111bbbb2222")  # low entropy
    assert host_name("_spf.google.com") and not host_name("google") and not host_name("bad..example")
    assert host_name("%{i}._spf.%{d}", macros=True) and not host_name("%{i}._spf.%{d}")
