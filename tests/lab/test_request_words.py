"""A text a scenario gives that the lab writes as one word of a request line is one word, else the scenario is
refused naming the key (review of 794664d and d0fa4c6, which made these texts one line).

HTTP's request line is ``method SP request-target SP HTTP-version`` (RFC 9112 §3; a request-target holds no
whitespace, §3.2), RTSP's and SIP's the same (RFC 2326 §6.1, RFC 3261 §7.1), and a SIP URI's user part holds no
space either (RFC 3261 §25.1). A space in an http behaviour's path ('/hp/device/Device Status/Index') wrote the
request line 'GET /hp/device/Device Status/Index HTTP/1.1', which the HTTP dissector refuses as no request: the
behaviour's User-Agent went unseen and small.yaml's ws-01, a Windows workstation, came out category ot (its
Modbus client) instead of it. Percent-encoded ('%20') the same path is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import generate, load_scenario
from tests.lab.conftest import SCENARIOS

# (device, behaviour, the keys written as one word of a request line)
REQUEST_WORDS = [
    ("ws-01", {"kind": "http", "server": "prn-01", "user_agent": "curl/8.0"}, ["method", "path"]),
    ("cam-01", {"kind": "rtsp", "client": "nvr-01", "server_header": "GStreamer RTSP server"}, ["path"]),
    # an SSDP device's path is its description's LOCATION and the upnp_description client's GET line
    ("ws-01", {"kind": "ssdp", "server": "Linux/5.4 UPnP/1.0 x/1", "device_type": "urn:x:device:y:1"}, ["path"]),
    ("ws-01", {"kind": "sip_phone", "registrar": "srv-dc", "user_agent": "Yealink SIP-T46S 66.86.0.15",
               "extension": "201", "password": "pw"}, ["extension"]),
]
CASES = [(d, b, k) for d, b, keys in REQUEST_WORDS for k in keys]
IDS = [f"{b['kind']}.{k}" for _, b, keys in REQUEST_WORDS for k in keys]


def _variant(tmp_path: Path, device: str, behaviour: dict[str, str], **texts: str) -> Path:
    """small.yaml with ``behaviour`` (its ``texts`` written as YAML double-quoted scalars) added to ``device``."""
    (tmp_path / "small.yaml").write_text((SCENARIOS / "small.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    items = {**behaviour, **texts}
    flow = ", ".join(f'{k}: "{v}"' for k, v in items.items())
    path = tmp_path / "variant.yaml"
    path.write_text(f"extends: small.yaml\nadd_behaviours:\n  {device}: [{{{flow}}}]\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("device", "behaviour", "key"), CASES, ids=IDS)
@pytest.mark.parametrize("gap", [" ", "\\t", "\\u00a0", "\\u0000"], ids=["space", "tab", "nbsp", "nul"])
def test_a_request_word_with_a_space_or_control_character_is_refused_naming_the_key(
        tmp_path: Path, device: str, behaviour: dict[str, str], key: str, gap: str) -> None:
    path = _variant(tmp_path, device, behaviour, **{key: f"/a{gap}b"})
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one word, no space or control character"):
        load_scenario(path)


@pytest.mark.parametrize(("device", "behaviour", "key"), CASES, ids=IDS)
def test_an_empty_request_word_is_refused_naming_the_key(tmp_path: Path, device: str, behaviour: dict[str, str],
                                                         key: str) -> None:
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one word, no space or control character"):
        load_scenario(_variant(tmp_path, device, behaviour, **{key: ""}))


@pytest.mark.parametrize(("device", "behaviour", "key"), CASES, ids=IDS)
def test_a_line_break_in_a_request_word_is_still_refused_as_a_line_break(
        tmp_path: Path, device: str, behaviour: dict[str, str], key: str) -> None:
    path = _variant(tmp_path, device, behaviour, **{key: "a\\r\\nX-Injected: y"})
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one line of text, no CR or LF"):
        load_scenario(path)


def test_percent_encoded_paths_a_query_and_other_methods_still_generate(tmp_path: Path) -> None:
    http = {"kind": "http", "server": "prn-01", "user_agent": "curl/8.0"}
    path = _variant(tmp_path, "ws-01", http, method="PROPFIND", path="/hp/device/Device%20Status/Index?x=1&y=%C3%A9")
    out = tmp_path / "v.pcap"
    generate(load_scenario(path), out)
    assert b"PROPFIND /hp/device/Device%20Status/Index?x=1&y=%C3%A9 HTTP/1.1\r\n" in out.read_bytes()
