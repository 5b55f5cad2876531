"""An FTP text a scenario gives (user, password, banner, folder, file prefix) is sent in one CRLF-ended line
(RFC 959 §5.3.2: <char> is any ASCII character but CR and LF): one holding a CR or LF is refused naming the key,
where it wrote commands and replies the scenario never asked for ('USER a' then 'DELE x')."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import generate, load_scenario
from tests.lab.conftest import SCENARIOS


def _variant(tmp_path: Path, upload: str, attack: str = "") -> Path:
    for name in ("small.yaml",):
        (tmp_path / name).write_text((SCENARIOS / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = ("extends: small.yaml\nadd_behaviours:\n"
            f"  cam-01: [{{kind: ftp_upload, server: srv-dc, username: cam, password: pw{upload}}}]\n")
    if attack:
        text += f"attacks: [{{kind: ftp_bruteforce, attacker: cam-01, target: srv-dc{attack}}}]\n"
    path = tmp_path / "variant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("key", ["username", "password", "banner", "directory", "prefix"])
@pytest.mark.parametrize("brk", ["\\r\\n", "\\n", "\\r"])
def test_an_upload_text_breaking_its_line_is_refused_naming_the_key(tmp_path: Path, key: str, brk: str) -> None:
    path = _variant(tmp_path, f', {key}: "a{brk}DELE x"')
    with pytest.raises(ConfigError, match=rf"behaviours\[\d+\]\.{key}: one line of text, no CR or LF"):
        load_scenario(path)


def test_the_guessing_s_banner_breaking_its_line_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, "", ', banner: "220 hi\\r\\n230 in"')
    with pytest.raises(ConfigError, match=r"attacks\[0\]\.banner: one line of text, no CR or LF"):
        load_scenario(path)


def test_one_line_texts_still_generate(tmp_path: Path) -> None:
    path = _variant(tmp_path, ', banner: "(vsFTPd 3.0.5)", directory: "a/b", prefix: "cam 1_"')
    out = tmp_path / "v.pcap"
    generate(load_scenario(path), out)
    assert out.stat().st_size > 0
