"""Fetch the MUD file a device announces (RFC 8520 §10): https only, opt-in, cached for its
cache-validity (§3.6), and its CMS signature verified when the file names one (§3.5, §13).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from iotwarden.errors import PolicyError, describe
from iotwarden.policy.mud.model import MudProfile
from iotwarden.policy.mud.validate import validate

MAX_BYTES = 1 << 20  # largest MUD file or signature accepted (bytes)
TIMEOUT_S = 10.0  # connect and read timeout of one request
OPENSSL = "openssl"  # the binary that verifies CMS signatures (`openssl cms -verify`)
USER_AGENT = "iotwarden-mud-manager"
ACCEPT = "application/mud+json"  # RFC 8520 §17.4 media type


@dataclass(frozen=True)
class FetchOptions:
    """``enabled`` is the operator's opt-in (nothing is fetched without it); ``cafile`` the trust
    anchors for the TLS server, ``signer_cafile`` those for MUD signatures (default: ``cafile``,
    then the system store)."""

    cache_dir: Path
    enabled: bool = False
    cafile: str | None = None
    signer_cafile: str | None = None
    require_signature: bool = False
    timeout: float = TIMEOUT_S
    max_bytes: int = MAX_BYTES


@dataclass(frozen=True)
class Fetched:
    profile: MudProfile
    from_cache: bool
    signed: bool  # a signature was published and verified


def _https(url: str) -> tuple[str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError past 65535, like a bracketed host left open
    except ValueError as exc:
        raise PolicyError(f"{url!r}: not a URL: {exc}") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise PolicyError(f"{url!r}: MUD files are fetched over https only (RFC 8520 §10)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port or 443, path


def _get(url: str, opts: FetchOptions) -> bytes:
    """One GET, no redirects followed (a redirect could leave https), at most ``max_bytes``."""
    host, port, path = _https(url)
    try:
        context = ssl.create_default_context(cafile=opts.cafile)
    except OSError as exc:  # missing, a folder, or no PEM certificate in it (ssl.SSLError)
        raise PolicyError(f"{opts.cafile}: cannot read trusted CA certificates: {describe(exc)}") from None
    conn = http.client.HTTPSConnection(host, port, timeout=opts.timeout, context=context)
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT})
        resp = conn.getresponse()
        if resp.status != 200:
            raise PolicyError(f"{url}: HTTP {resp.status} {resp.reason}")
        body = resp.read(opts.max_bytes + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise PolicyError(f"{url}: cannot fetch: {exc}") from exc
    finally:
        conn.close()
    if len(body) > opts.max_bytes:
        raise PolicyError(f"{url}: larger than {opts.max_bytes} bytes")
    return body


def verify_signature(content: bytes, signature: bytes, cafile: str | None) -> None:
    """Check a detached DER CMS SignedData over ``content`` (RFC 8520 §13.2) with ``openssl cms``;
    PolicyError if it does not verify against ``cafile`` (or the system store)."""
    with tempfile.TemporaryDirectory(prefix="iotwarden-mud-") as tmp:
        body, sig = Path(tmp, "mud.json"), Path(tmp, "mud.p7s")
        body.write_bytes(content)
        sig.write_bytes(signature)
        argv = [OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig), "-content", str(body),
                "-purpose", "any", "-out", os.devnull]
        if cafile:
            argv += ["-CAfile", cafile]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, check=False)  # noqa: S603 - list argv
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PolicyError(f"cannot run {OPENSSL} to verify the MUD signature: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise PolicyError(f"MUD signature does not verify: {reason[0] if reason else done.returncode}")


class MudCache:
    """A directory of fetched MUD files: ``<sha256(url)>.json`` and a ``.meta.json`` beside it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, url: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.root / f"{digest}.json", self.root / f"{digest}.meta.json"

    def get(self, url: str, now: float, *, fresh_only: bool = True) -> tuple[MudProfile, dict[str, Any]] | None:
        """The cached profile of ``url`` (only if younger than its cache-validity with fresh_only)."""
        body_path, meta_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text())
            profile = validate(json.loads(body_path.read_bytes()), source=str(body_path))
        except (OSError, ValueError, RecursionError, PolicyError):
            return None
        age = now - float(meta.get("fetched_at", 0))
        if fresh_only and not 0 <= age < profile.validity_hours * 3600:
            return None
        return profile, meta

    def put(self, url: str, body: bytes, meta: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for path, data in zip(self._paths(url), (body, json.dumps(meta).encode()), strict=True):
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)


def fetch(url: str, opts: FetchOptions, *, now: float | None = None) -> Fetched:
    """The MUD file at ``url``: from the cache while it is valid, else fetched, validated, its
    mud-url compared with ``url`` and its signature verified; PolicyError on any failure."""
    _https(url)
    now = time.time() if now is None else now
    cache = MudCache(opts.cache_dir)
    cached = cache.get(url, now)
    if cached is not None:
        return Fetched(cached[0], True, bool(cached[1].get("signed")))
    if not opts.enabled:
        raise PolicyError(f"{url}: not in the cache and fetching MUD files is not enabled")
    body = _get(url, opts)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # a server's body: RecursionError when nested too deeply
        raise PolicyError(f"{url}: not JSON: {describe(exc)}") from exc
    profile = validate(data, source=url)
    if profile.mud_url != url:  # RFC 8520 §3.3: the file names the URL it is served from
        raise PolicyError(f"{url}: the file's mud-url is {profile.mud_url!r}")
    signed = False
    if profile.mud_signature:
        verify_signature(body, _get(profile.mud_signature, opts), opts.signer_cafile or opts.cafile)
        signed = True
    elif opts.require_signature:
        raise PolicyError(f"{url}: no mud-signature and a signature is required")
    cache.put(url, body, {"url": url, "fetched_at": now, "signed": signed})
    return Fetched(profile, False, signed)
