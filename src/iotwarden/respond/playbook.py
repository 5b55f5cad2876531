"""Response playbooks as validated YAML: a trigger (alert detector, severity, device category, type,
vendor) and the ordered actions to take when it fires. Errors name the playbook and the bad key.

    playbooks:
      - name: contain-mirai
        allow_ot: false            # OT devices get notify-only unless this is true
        trigger: {detector: "detect.scan.*", min_severity: high, category: iot, device_type: camera}
        actions:
          - quarantine: {via: policy}  # enforcer (default: as run), table, or policy
          - revoke_certificate: {reason: key_compromise}
          - notify_webhook: {url: "https://soc.example/hook", timeout_s: 5, retries: 2,
                             secret: "at least 16 characters"}   # signs: X-Iotwarden-Signature
          - open_case: {title: "Mirai scan from {device}"}
          - tag_device: {tag: compromised}
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from iotwarden import inputfile
from iotwarden.errors import PolicyError, describe
from iotwarden.identity.records import REVOCATION_REASONS
from iotwarden.kb.taxonomy import CATEGORIES
from iotwarden.model.alert import Alert
from iotwarden.model.finding import SEVERITIES
from iotwarden.respond.actions import REDACTED

MAX_PLAYBOOKS = 256  # playbooks in one file or folder
MAX_ACTIONS = 16  # actions in one playbook
MAX_FILE_BYTES = 1 << 20  # a playbook file larger than this is refused before it is read (inputfile)
MAX_WEBHOOK_TIMEOUT_S = 30.0  # per attempt
MAX_WEBHOOK_RETRIES = 5  # attempts after the first
DEFAULT_WEBHOOK_TIMEOUT_S, DEFAULT_WEBHOOK_RETRIES = 5.0, 2
MIN_SECRET_LEN = 16  # webhook signing secret, characters (RFC 2104 §3: keys shorter than the hash are weak)
MAX_SECRET_LEN = 1024
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # playbook names and tags (fit respond_models.NAME_LEN)

# action kind -> (parameters it accepts, parameters it requires)
ACTION_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "quarantine": (frozenset({"reason", "via"}), frozenset()),
    "revoke_certificate": (frozenset({"reason"}), frozenset()),
    "notify_webhook": (frozenset({"url", "timeout_s", "retries", "headers", "secret"}), frozenset({"url"})),
    "open_case": (frozenset({"title", "severity"}), frozenset()),
    "tag_device": (frozenset({"tag"}), frozenset({"tag"})),
}
# quarantine.via: "enforcer" (the one the run was given), "table" (the standalone quarantine table, for a
# site without a segmentation policy), "policy" (the stored policy's isolated zone)
QUARANTINE_VIA = ("enforcer", "table", "policy")
NOTIFY_ONLY = frozenset({"notify_webhook"})  # what runs on an OT device unless allow_ot is set
TRIGGER_KEYS = frozenset({"detector", "severity", "min_severity", "category", "device_type", "vendor"})
PLAYBOOK_KEYS = frozenset({"name", "description", "enabled", "allow_ot", "trigger", "actions"})


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What a playbook may match and act on about the alert's device (None: unknown)."""

    key: str
    mac: str | None = None
    ips: tuple[str, ...] = ()
    category: str | None = None
    device_type: str | None = None
    vendor: str | None = None

    @property
    def is_ot(self) -> bool:
        return (self.category or "").lower() == "ot"


@dataclass(frozen=True, slots=True)
class Trigger:
    """Every given criterion must hold; each list matches when any of its globs does (case-insensitive)."""

    detector: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    min_severity: str | None = None
    category: tuple[str, ...] = ()
    device_type: tuple[str, ...] = ()
    vendor: tuple[str, ...] = ()

    def matches(self, alert: Alert, device: DeviceFacts | None) -> bool:
        if self.detector and not _any_glob(self.detector, alert.id):
            return False
        if self.severity and alert.severity not in self.severity:
            return False
        if self.min_severity and SEVERITIES.index(alert.severity) < SEVERITIES.index(self.min_severity):
            return False
        for name in ("category", "device_type", "vendor"):
            globs = getattr(self, name)
            if globs and not _any_glob(globs, getattr(device, name, None) if device else None):
                return False
        return True


def _any_glob(globs: Iterable[str], value: str | None) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value.lower(), g.lower()) for g in globs)


@dataclass(frozen=True, slots=True)
class Action:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: dict(self.params)}


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    trigger: Trigger
    actions: tuple[Action, ...]
    description: str = ""
    enabled: bool = True
    allow_ot: bool = False  # OT devices are availability-first: notify-only unless the author says so

    def actions_for(self, device: DeviceFacts | None) -> list[tuple[Action, str | None]]:
        """Each action with the reason it must be skipped on this device (None: run it)."""
        ot_only = device is not None and device.is_ot and not self.allow_ot
        return [(a, "OT device: notify-only (playbook does not set allow_ot)" if ot_only and a.kind not in NOTIFY_ONLY
                 else None) for a in self.actions]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise PolicyError(f"{where}: a string or a list of strings")
    return tuple(items)


def _severity(value: Any, where: str) -> str:
    if value not in SEVERITIES:
        raise PolicyError(f"{where}: one of {', '.join(SEVERITIES)}, got {value!r}")
    return str(value)


def parse_trigger(data: Any, where: str) -> Trigger:
    if not isinstance(data, dict) or not data:
        raise PolicyError(f"{where}: a mapping with at least one of {', '.join(sorted(TRIGGER_KEYS))}")
    unknown = set(data) - TRIGGER_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    got = {k: _strings(v, f"{where}.{k}") for k, v in data.items() if k not in ("min_severity",)}
    for sev in got.get("severity", ()):
        _severity(sev, f"{where}.severity")
    for cat in got.get("category", ()):
        if cat.lower() not in CATEGORIES:
            raise PolicyError(f"{where}.category: one of {', '.join(CATEGORIES)}, got {cat!r}")
    minimum = _severity(data["min_severity"], f"{where}.min_severity") if "min_severity" in data else None
    return Trigger(min_severity=minimum, **got)


def _check_params(kind: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    allowed, required = ACTION_KINDS[kind]
    unknown = set(params) - allowed
    if unknown:
        raise PolicyError(f"{where}: unknown key {sorted(unknown)[0]!r} (accepted: {', '.join(sorted(allowed))})")
    missing = required - set(params)
    if missing:
        raise PolicyError(f"{where}: missing key {sorted(missing)[0]!r}")
    out = dict(params)
    if kind == "revoke_certificate":
        out["reason"] = params.get("reason", "key_compromise")  # RFC 5280 §5.3.1 keyCompromise
        if out["reason"] not in REVOCATION_REASONS:
            raise PolicyError(f"{where}.reason: one of {', '.join(REVOCATION_REASONS)}")
    elif kind == "notify_webhook":
        url = params["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError(f"{where}.url: an http:// or https:// URL, got {url!r}")
        out["timeout_s"] = _number(params.get("timeout_s", DEFAULT_WEBHOOK_TIMEOUT_S), f"{where}.timeout_s",
                                   0.0, MAX_WEBHOOK_TIMEOUT_S)
        out["retries"] = int(_number(params.get("retries", DEFAULT_WEBHOOK_RETRIES), f"{where}.retries",
                                     0, MAX_WEBHOOK_RETRIES, integer=True))
        headers = params.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in headers.items()):
            raise PolicyError(f"{where}.headers: a mapping of header names to strings")
        secret = params.get("secret")
        if secret is not None and not (isinstance(secret, str) and MIN_SECRET_LEN <= len(secret) <= MAX_SECRET_LEN):
            raise PolicyError(f"{where}.secret: a string of {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters "
                              "(the HMAC-SHA256 key that signs each notification)")
    elif kind == "open_case":
        if "severity" in params:
            _severity(params["severity"], f"{where}.severity")
        if "title" in params and not isinstance(params["title"], str):
            raise PolicyError(f"{where}.title: a string")
    elif kind == "tag_device" and not (isinstance(params["tag"], str) and NAME.match(params["tag"])):
        raise PolicyError(f"{where}.tag: lower-case letters, digits, '.', '_' or '-', at most 64")
    elif kind == "quarantine":
        if not isinstance(params.get("reason", ""), str):
            raise PolicyError(f"{where}.reason: a string")
        if params.get("via", QUARANTINE_VIA[0]) not in QUARANTINE_VIA:
            raise PolicyError(f"{where}.via: one of {', '.join(QUARANTINE_VIA)}, got {params['via']!r}")
    return out


def _number(value: Any, where: str, low: float, high: float, *, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if not ok or isinstance(value, bool) or not low <= value <= high or (not integer and value == 0):
        raise PolicyError(f"{where}: {'an integer' if integer else 'a number'} in {low:g}..{high:g}, got {value!r}")
    return float(value)


def parse_action(data: Any, where: str) -> Action:
    """``kind`` alone, or a one-key mapping ``{kind: {params}}``."""
    params: Any
    if isinstance(data, str):
        kind, params = data, {}
    elif isinstance(data, dict) and len(data) == 1:
        kind, params = next(iter(data.items()))
        params = {} if params is None else params
    else:
        raise PolicyError(f"{where}: an action name or a one-key mapping {{action: {{parameters}}}}")
    if kind not in ACTION_KINDS:
        raise PolicyError(f"{where}: unknown action {kind!r} (one of {', '.join(ACTION_KINDS)})")
    if not isinstance(params, dict):
        raise PolicyError(f"{where}.{kind}: parameters must be a mapping")
    return Action(kind, _check_params(kind, params, f"{where}.{kind}"))


def parse_playbook(data: Any, where: str) -> Playbook:
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: a mapping")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise PolicyError(f"{where}.name: lower-case letters, digits, '.', '_' or '-', at most 64, got {name!r}")
    where = f"{where} ({name})"
    unknown = set(data) - PLAYBOOK_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    for flag in ("enabled", "allow_ot"):
        if flag in data and not isinstance(data[flag], bool):
            raise PolicyError(f"{where}.{flag}: true or false")
    if "trigger" not in data:
        raise PolicyError(f"{where}: missing key 'trigger'")
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise PolicyError(f"{where}.actions: a non-empty list")
    if len(actions) > MAX_ACTIONS:
        raise PolicyError(f"{where}.actions: at most {MAX_ACTIONS} actions")
    return Playbook(name=name, trigger=parse_trigger(data["trigger"], f"{where}.trigger"),
                    actions=tuple(parse_action(a, f"{where}.actions[{i}]") for i, a in enumerate(actions)),
                    description=str(data.get("description", "")), enabled=data.get("enabled", True),
                    allow_ot=data.get("allow_ot", False))


def parse_playbooks(data: Any, source: str = "playbooks") -> list[Playbook]:
    """Playbooks from parsed YAML: ``{playbooks: [...]}`` or a bare list. Names must be unique."""
    if isinstance(data, dict):
        unknown = set(data) - {"playbooks"}
        if unknown:
            raise PolicyError(f"{source}: unknown key {sorted(unknown)[0]!r} (expected 'playbooks')")
        data = data.get("playbooks")
    if not isinstance(data, list):
        raise PolicyError(f"{source}: expected a list of playbooks under 'playbooks'")
    if len(data) > MAX_PLAYBOOKS:
        raise PolicyError(f"{source}: at most {MAX_PLAYBOOKS} playbooks")
    out = [parse_playbook(p, f"{source}: playbooks[{i}]") for i, p in enumerate(data)]
    seen: set[str] = set()
    for pb in out:
        if pb.name in seen:
            raise PolicyError(f"{source}: playbook name {pb.name!r} is used twice")
        seen.add(pb.name)
    return out


def load_playbooks(path: Path) -> list[Playbook]:
    """Playbooks from one YAML file, or from every ``*.yaml``/``*.yml`` file of a folder (sorted)."""
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    out: list[Playbook] = []
    for file in files:
        try:
            data = yaml.safe_load(inputfile.read_text(file, MAX_FILE_BYTES))
        except OSError as exc:
            raise PolicyError(f"cannot read playbooks {file}: {exc.strerror}") from None
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise PolicyError(f"{file}: not valid YAML: {describe(exc)}") from None
        out.extend(parse_playbooks(data, str(file)))
    return parse_playbooks([_raw(p) for p in out], str(path)) if len(files) > 1 else out


def _raw(pb: Playbook) -> dict[str, Any]:
    """A playbook back as YAML data (re-validated when several files are merged: names stay unique)."""
    trig = {k: list(v) for k in ("detector", "severity", "category", "device_type", "vendor")
            if (v := getattr(pb.trigger, k))}
    if pb.trigger.min_severity:
        trig["min_severity"] = pb.trigger.min_severity  # type: ignore[assignment]
    return {"name": pb.name, "description": pb.description, "enabled": pb.enabled, "allow_ot": pb.allow_ot,
            "trigger": trig, "actions": [a.to_dict() for a in pb.actions]}


def to_dict(pb: Playbook) -> dict[str, Any]:
    """A playbook as JSON-compatible data (what ``playbooks list -f json`` prints); a webhook signing
    secret is redacted (it reads back only from the playbook file)."""
    out = _raw(pb)
    out["actions"] = [{kind: {**params, "secret": REDACTED} if "secret" in params else params
                       for kind, params in a.items()} for a in out["actions"]]
    return out
