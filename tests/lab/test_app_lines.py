"""A text a scenario gives that the lab sends inside one CRLF-ended line of Telnet (the login dialogue, RFC 854's
NVT end of line), RTSP (request line and headers, RFC 2326 §4 and §6/§7: CRLF ends each), HTTP, SSDP or SIP (start
line and headers: RFC 9112 §2.1, RFC 3261 §7) is one line, else the scenario is refused naming the key, as FTP's are
(tests/lab/test_ftp_lines.py): a CR or LF in it wrote lines the scenario never asked for, a 'telnet_admin' username
'root\\r\\nrm x' a second login line (tshark reads the user 'root' while the brute force's truth holds the whole
text), an RTSP User-Agent 'VLC\\r\\nX: y' a header of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import generate, load_scenario
from tests.lab.conftest import SCENARIOS

RTSP = {"kind": "rtsp", "client": "nvr-01", "auth": "digest", "username": "nvr", "password": "pw", "realm": "CAM",
        "server_header": "GStreamer RTSP server"}
TELNET = {"kind": "telnet_admin", "client": "ws-01", "username": "root", "password": "vizxv"}


def _variant(tmp_path: Path, device: str, behaviour: dict[str, str], **texts: str) -> Path:
    """small.yaml with ``behaviour`` (its ``texts`` written as YAML double-quoted scalars, escapes and all) added
    to ``device``."""
    (tmp_path / "small.yaml").write_text((SCENARIOS / "small.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    items = {**{k: f'"{v}"' for k, v in behaviour.items()}, **{k: f'"{v}"' for k, v in texts.items()}}
    flow = ", ".join(f"{k}: {v}" for k, v in items.items())
    path = tmp_path / "variant.yaml"
    path.write_text(f"extends: small.yaml\nadd_behaviours:\n  {device}: [{{{flow}}}]\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("key", ["username", "password"])
@pytest.mark.parametrize("brk", ["\\r\\n", "\\n", "\\r"])
def test_a_telnet_login_text_breaking_its_line_is_refused_naming_the_key(tmp_path: Path, key: str,
                                                                         brk: str) -> None:
    path = _variant(tmp_path, "dvr-01", TELNET, **{key: f"a{brk}rm x"})
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one line of text, no CR or LF"):
        load_scenario(path)


@pytest.mark.parametrize("key", ["path", "server_header", "user_agent", "username", "password", "realm"])
@pytest.mark.parametrize("brk", ["\\r\\n", "\\n"])
def test_an_rtsp_text_breaking_its_line_is_refused_naming_the_key(tmp_path: Path, key: str, brk: str) -> None:
    path = _variant(tmp_path, "cam-01", RTSP, **{key: f"/a{brk}X-Injected: y"})
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one line of text, no CR or LF"):
        load_scenario(path)


# the HTTP, SSDP, SIP and UPnP behaviours: request and status lines and headers end with CRLF (RFC 9112 §2.1, UPnP
# Device Architecture 2.0 §1.1 over HTTPU, RFC 3261 §7), so each text that goes into one is one line
HEADER_TEXTS = [
    ("ws-01", {"kind": "ssdp", "server": "Linux/5.4 UPnP/1.0 x/1", "device_type": "urn:x:device:y:1"},
     ["server", "device_type", "path", "usn"]),
    ("ws-01", {"kind": "ssdp_search", "user_agent": "Windows/10 UPnP/1.0"}, ["st", "user_agent"]),
    ("ws-01", {"kind": "http", "user_agent": "curl/8.0"}, ["method", "path", "user_agent", "server_header"]),
    ("srv-dc", {"kind": "sip_pbx", "server_header": "Asterisk PBX 18.0"}, ["server_header", "realm"]),
    ("ws-01", {"kind": "sip_phone", "registrar": "srv-dc", "user_agent": "Yealink SIP-T46S 66.86.0.15",
               "extension": "201", "password": "pw"}, ["user_agent", "extension"]),
    ("cam-01", {"kind": "upnp_description", "client": "ws-01", "user_agent": "Dalvik/2.1.0", "manufacturer": "M",
                "model_name": "N"}, ["user_agent"]),
]


@pytest.mark.parametrize(("device", "behaviour", "key"),
                         [(d, b, k) for d, b, keys in HEADER_TEXTS for k in keys],
                         ids=[f"{b['kind']}.{k}" for _, b, keys in HEADER_TEXTS for k in keys])
def test_a_header_text_breaking_its_line_is_refused_naming_the_key(tmp_path: Path, device: str,
                                                                   behaviour: dict[str, str], key: str) -> None:
    path = _variant(tmp_path, device, behaviour, **{key: "a\\r\\nX-Injected: y"})
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one line of text, no CR or LF"):
        load_scenario(path)


def test_one_line_texts_with_spaces_still_generate(tmp_path: Path) -> None:
    path = _variant(tmp_path, "dvr-01", TELNET, banner="dvr lobby login", password="a b")
    out = tmp_path / "v.pcap"
    generate(load_scenario(path), out)
    assert out.stat().st_size > 0
    path = _variant(tmp_path, "cam-01", RTSP, user_agent="LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)",
                    path="/axis-media/media.amp?camera=1")
    generate(load_scenario(path), out)
    assert out.stat().st_size > 0
