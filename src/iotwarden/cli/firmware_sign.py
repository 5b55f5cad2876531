"""``iotwarden firmware keygen|sign|verify|verify-hash|golden``: SUIT signing keys, signed envelopes,
verification of images and of hashes devices report, against SUIT envelopes and the golden-hash
registry (a thin shell over firmware/signing)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iotwarden.cli.files import check_output, read_file, write_file
from iotwarden.cli.firmware import DbOption, firmware_app
from iotwarden.errors import FirmwareError, describe
from iotwarden.firmware.signing.suit import MAX_SEQUENCE

if TYPE_CHECKING:
    from iotwarden.firmware.signing.golden import GoldenRegistry

golden_app = typer.Typer(
    help="The golden-hash registry: known-good image hashes per model and version.", no_args_is_help=True
)
firmware_app.add_typer(golden_app, name="golden")


@contextmanager
def _golden(db: str | None) -> Iterator[GoldenRegistry]:
    """The golden-hash registry of the store, closed when the block ends: SQLAlchemy and the store are imported by
    the commands that read it (as the signing keys and the SUIT signer and verifier are by theirs), not by
    ``firmware analyze``."""
    from iotwarden.firmware.signing.golden import GoldenRegistry  # noqa: PLC0415
    from iotwarden.store.db import Store  # noqa: PLC0415

    with Store(db) as store:
        yield GoldenRegistry(store)


@firmware_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Argument(help="Private key file to write (PEM, mode 0600); PUBLIC goes to OUT.pub.")],
    algorithm: Annotated[str, typer.Option("--algorithm", help="ed25519 or p256.")] = "ed25519",
) -> None:
    """Generate a manifest signing key pair."""
    if out.exists():
        raise FirmwareError(f"{out} exists: refusing to overwrite a key")
    check_output(out)
    from iotwarden.firmware.signing import keys  # noqa: PLC0415 - see _golden

    key = keys.generate(algorithm)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise FirmwareError(f"cannot write {out}: {describe(exc)}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(keys.private_pem(key))
    pub = out.with_name(out.name + ".pub")
    write_file(pub, keys.public_pem(key.public_key()))
    typer.echo(f"{out} ({algorithm}), public key {pub}, key id {keys.key_id(key.public_key()).hex()}")


@firmware_app.command("sign")
def sign(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    image: Annotated[Path, typer.Argument(help="Firmware image to sign.")],
    key: Annotated[Path, typer.Option("--key", help="Private key (PEM).")],
    vendor: Annotated[str, typer.Option("--vendor", help="Vendor domain name (vendor id = UUID5 of it).")],
    model: Annotated[str, typer.Option("--model", help="Device model (class id = UUID5 of it).")],
    version: Annotated[str, typer.Option("--version", help="Firmware version text.")],
    sequence: Annotated[int, typer.Option("--sequence", min=0, max=MAX_SEQUENCE,
                                          help="Manifest sequence number (must grow).")],
    uri: Annotated[str | None, typer.Option("--uri", help="Where devices fetch the image.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Envelope file (default IMAGE.suit).")] = None,
) -> None:
    """Write a signed SUIT envelope for IMAGE."""
    if not image.is_file():
        raise FirmwareError(f"{image}: no such file")
    from iotwarden.firmware.signing import keys  # noqa: PLC0415 - see _golden
    from iotwarden.firmware.signing.signer import sign_image  # noqa: PLC0415

    env = sign_image(
        image, keys.load_private(key), vendor_domain=vendor, model=model, version=version, sequence=sequence, uri=uri
    )
    dest = output or image.with_name(image.name + ".suit")
    write_file(dest, env)
    typer.echo(f"{dest}: {len(env)} bytes, sequence {sequence}")


@firmware_app.command("verify")
def verify_cmd(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    image: Annotated[Path | None, typer.Argument(help="Firmware image (or give --sha256 instead).")] = None,
    manifest: Annotated[Path | None, typer.Option("--manifest", help="Its SUIT envelope.")] = None,
    trusted_key: Annotated[
        list[Path] | None, typer.Option("--trusted-key", help="Trusted public key (PEM); repeatable.")
    ] = None,
    vendor: Annotated[str | None, typer.Option("--vendor", help="Expected vendor domain.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Expected model.")] = None,
    current_sequence: Annotated[
        int | None, typer.Option("--current-sequence", help="Sequence number installed now (anti-rollback).")
    ] = None,
    sha256: Annotated[
        str | None, typer.Option("--sha256", help="A hash a device reported for its image, instead of IMAGE.")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="With --model: check against the golden hashes of this version.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Verify IMAGE against its SUIT envelope (trusted key, signature, ids, sequence, digest, size), and/or
    IMAGE or a device-reported --sha256 against the golden hashes of --model --version (exit 1 unless
    the hash is a known-good build of that version)."""
    if (image is None) == (sha256 is None):
        raise FirmwareError("give an IMAGE or a reported --sha256 (one of them)")
    if image is not None and not image.is_file():
        raise FirmwareError(f"{image}: no such file")
    if manifest is None and version is None:
        raise FirmwareError("nothing to verify against: give --manifest, or --model and --version (golden hashes)")
    if version is not None and model is None:
        raise FirmwareError("--version needs --model (golden hashes are kept per model and version)")
    result: dict[str, object] = {}
    if manifest is not None:
        if image is None:
            raise FirmwareError("--manifest verifies an image: give IMAGE, not --sha256")
        if not manifest.is_file():
            raise FirmwareError(f"{manifest}: no such file")
        from iotwarden.firmware.signing import keys  # noqa: PLC0415 - see _golden
        from iotwarden.firmware.signing.verify import Expectation, verify  # noqa: PLC0415

        trusted = keys.TrustedKeys([keys.load_public(p) for p in trusted_key or []])
        result = verify(image, read_file(manifest, "SUIT envelope"), trusted,
                        Expectation(vendor, model, current_sequence)).to_dict()
    golden_ok = True
    if version is not None and model is not None:
        from iotwarden.firmware.signing.signer import image_digest  # noqa: PLC0415

        digest = image_digest(image)[0].hex() if image is not None else sha256 or ""
        with _golden(db) as golden:
            check = golden.check(model, version, digest)
        result["golden"] = check.to_dict()
        golden_ok = check.status == "match"
    typer.echo(json.dumps(result, indent=2))
    if not golden_ok:
        raise SystemExit(1)  # SystemExit: click in non-standalone mode returns typer.Exit codes


@firmware_app.command("verify-hash")
def verify_hash(
    sha256: Annotated[str, typer.Argument(help="SHA-256 a device reports for its image.")],
    model: Annotated[str, typer.Option("--model")],
    version: Annotated[str, typer.Option("--version")],
    db: DbOption = None,
) -> None:
    """Check a reported hash against the golden hashes of MODEL VERSION (exit 1 unless it matches)."""
    with _golden(db) as golden:
        result = golden.check(model, version, sha256)
    typer.echo(json.dumps(result.to_dict(), indent=2))
    if result.status != "match":
        # SystemExit, not typer.Exit: click in non-standalone mode returns Exit codes instead of raising
        raise SystemExit(1)


@golden_app.command("add")
def golden_add(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    model: Annotated[str, typer.Option("--model")],
    version: Annotated[str, typer.Option("--version")],
    sha256: Annotated[str | None, typer.Option("--sha256", help="Known-good hash (or give --image).")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Known-good image to hash.")] = None,
    source: Annotated[str, typer.Option("--source", help="Where the hash comes from.")] = "operator",
    db: DbOption = None,
) -> None:
    """Register a known-good hash for MODEL VERSION."""
    from iotwarden.firmware.signing.signer import image_digest  # noqa: PLC0415

    if (sha256 is None) == (image is None):
        raise FirmwareError("give exactly one of --sha256 and --image")
    size = None
    if image is not None:
        digest, size = image_digest(image)
        if not size:  # the hash every empty download has: no image is known-good
            raise FirmwareError(f"--image {image}: an empty file, not a firmware image")
        sha256 = digest.hex()
    with _golden(db) as golden:
        added = golden.add(model, version, sha256 or "", size=size, source=source)
    typer.echo(f"{model} {version} {sha256}: {'added' if added else 'already registered'}")
