"""Errors: one base class, grouped by origin; a capture error says how far reading got."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden import errors


@pytest.mark.parametrize("name", ["CaptureError", "ParseError", "ConfigError", "StoreError", "PolicyError",
                                  "FirmwareError", "IdentityError"])
def test_every_error_is_an_iotwarden_error(name: str) -> None:
    assert issubclass(getattr(errors, name), errors.IotwardenError)


def test_capture_error_carries_the_packets_read_before_the_damage() -> None:
    exc = errors.CaptureError("truncated record", packets_read=41)
    assert exc.packets_read == 41 and str(exc) == "truncated record"


def test_describe_says_what_went_wrong_in_one_line() -> None:
    import json

    import yaml

    try:
        Path("/nonexistent/x.yaml").read_text()
    except OSError as exc:
        assert errors.describe(exc) == "No such file or directory"
    try:
        b"J\x9c".decode("utf-8")
    except UnicodeDecodeError as exc:
        assert errors.describe(exc).startswith("not UTF-8 text (byte 0x9c at offset 1)")
    try:
        yaml.safe_load("a: [1, 2\n  b: }")
    except yaml.YAMLError as exc:
        assert errors.describe(exc) == ("line 2, column 4: while parsing a flow sequence: "
                                        "expected ',' or ']', but got ':'")
    try:
        json.loads('{"a": ')
    except ValueError as exc:
        assert errors.describe(exc) == "Expecting value: line 1 column 7 (char 6)"
    with pytest.raises(RecursionError) as nested:  # json's parser recurses once per level
        json.loads("[" * 3000 + "]" * 3000)
    assert errors.describe(nested.value).startswith("nested too deeply to read")


def test_one_line_joins_lines_and_drops_yaml_source_excerpts() -> None:
    import yaml

    try:
        yaml.safe_load("a: b: c")
    except yaml.YAMLError as exc:
        text = errors.one_line(f"p.yaml: not valid YAML: {exc}")
    assert text == "p.yaml: not valid YAML: mapping values are not allowed here; (line 1, column 5)"
    assert errors.one_line("first\n\n   second  \nthird") == "first; second; third"
    assert errors.one_line("already one line") == "already one line"
