"""Hostile and mistaken input, command by command: every bad file, database and option value is
answered with one ``error:`` line on stderr and exit code 2, never a traceback, and nothing already
stored is lost (a database of an older schema is migrated, one of a newer schema or a read-only one
is refused untouched, an interrupted analysis leaves the store as it was before the capture it read).

Bugs found in other packages are marked ``xfail(strict=True)`` naming the module to fix: the mark
goes when the fix lands.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command

import iotwarden.lab
from iotwarden.cli.main import INTERNAL_ERROR, main
from iotwarden.store.db import Store, _alembic_config

DEMO = Path(iotwarden.lab.__file__).parent / "captures" / "demo.pcap"
SMALL_SCENARIO = Path(iotwarden.lab.__file__).parent / "scenarios" / "small.yaml"
ERF_RECORD = bytes.fromhex("4ea3cb7f00000000" "02" "04" "0000" "0040" "0000" "0040") + bytes(64)  # ERF type 2
UNREADABLE = Path("/proc/sys/vm/drop_caches")  # write-only: open() for reading is refused even to root
IO_ERROR = Path("/proc/self/mem")  # opens, but reading offset 0 fails (EIO)
MUD_MAC = "aa:bb:cc:dd:ee:ff"
MUD_PROFILE = {"ietf-mud:mud": {"mud-version": 1, "mud-url": "https://example.com/lamp.json",  # valid, one ACL
                                "last-update": "2024-06-16T12:49:12Z", "is-supported": True,
                                "from-device-policy": {"access-lists": {"access-list": [{"name": "out"}]}}},
               "ietf-access-control-list:access-lists": {"acl": [{"name": "out", "type": "ipv4-acl-type", "aces": {
                   "ace": [{"name": "web", "matches": {"ipv4": {"protocol": 6}},
                            "actions": {"forwarding": "accept"}}]}}]}}


def _check(capsys: pytest.CaptureFixture[str], argv: list[str], *, code: int = 2) -> str:
    """Run ``argv``; the error line it printed, after checking it is the only one and comes last."""
    rc = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line, got:\n{err}"
    assert err.rstrip().splitlines()[-1] == errors[0], f"the error is not the last line:\n{err}"
    assert INTERNAL_ERROR not in errors[0], errors[0]  # a bug caught by the last edge, not a clear message
    assert "[Errno" not in errors[0] and "codec can't" not in errors[0], errors[0]  # errors.describe's words
    assert rc == code, f"exit code {rc}: {errors[0]}"
    return errors[0]


# --- hostile files ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bad inputs by kind (missing, folder, unreadable, random, ...) and the good things commands need."""
    d = tmp_path_factory.mktemp("hostile")
    rnd = random.Random(7)
    demo = DEMO.read_bytes()
    files: dict[str, bytes | str | None] = {
        "empty.pcap": b"", "random.bin": bytes(rnd.randrange(256) for _ in range(65536)),
        "binary.yaml": bytes(rnd.randrange(256) for _ in range(512)),
        "truncated.pcap": demo[:100_001], "text.pcap": "hello, this is not a capture\n",
        "erf.pcap": ERF_RECORD, "text.pcap.gz": gzip.compress(b"just text\n" * 10),
        "badgzip.pcap": b"\x1f\x8b\x08\x00garbage, not deflate" * 5,
        "bad.yaml": "a: [1, 2\n  b: }\n", "scalar.yaml": "42\n", "bad.json": '{"a": ', "list.json": "[1, 2, 3]",
        "bad.csv": '\x00\x01garbage,"unterminated\n', "image.bin": b"\x00" * 4096,
        # nested deeper than json's and PyYAML's recursive parsers follow (RecursionError, not a decode error)
        "deep.yaml": "[" * 3000 + "]" * 3000, "deep.json": "[" * 3000 + "]" * 3000,
        "anomaly.yaml": "detect.anomaly: {n_trees: -1}\n", "window.yaml": "detect.scan: {window_s: 0}\n",
        "deep.log": '{"ts": 1, "uid": "C1", "x": ' + "[" * 3000 + "]" * 3000 + "}\n",
        "mud.json": json.dumps(MUD_PROFILE),
    }
    for name, data in files.items():
        (d / name).write_bytes(data.encode() if isinstance(data, str) else data or b"")
    os.mkfifo(d / "fifo.yaml")  # no writer: a loader that opened it blocking would wait for ever
    with (d / "huge.yaml").open("wb") as f:  # sparse, past every whole-file loader's limit (inputfile)
        f.truncate(3 << 30)
    (d / "folder").mkdir()
    (d / "watched").mkdir()
    (d / "notdb.db").write_text("this is not SQLite " * 100)
    out = {name.replace(".", "_"): d / name for name in files}
    out |= {"missing": d / "missing.file", "folder": d / "folder", "watched": d / "watched",
            "notdb": d / "notdb.db", "fifo": d / "fifo.yaml", "huge": d / "huge.yaml", "dev_zero": Path("/dev/zero"),
            "unreadable": UNREADABLE, "io_error": IO_ERROR, "dir": d}
    with Store(str(d / "good.db")):
        out["db"] = d / "good.db"
    return out


def _readable_only_to_root() -> bool:
    try:
        UNREADABLE.open("rb").close()
    except OSError:
        return False
    return True


# kinds every command reading a file must refuse; capture readers and config readers add their own
ANY_FILE = ["missing", "folder", "unreadable", "io_error", "random_bin"]
CAPTURE = [*ANY_FILE, "empty_pcap", "text_pcap", "erf_pcap", "text_pcap_gz", "badgzip_pcap", "deep_log"]
# read whole into memory: a FIFO, a device and a file past the loader's limit are refused unread (inputfile)
WHOLE = [*ANY_FILE, "fifo", "dev_zero", "huge"]
YAML = [*WHOLE, "binary_yaml", "bad_yaml", "scalar_yaml", "deep_yaml"]
JSON = [*WHOLE, "empty_pcap", "bad_json", "bad_yaml", "binary_yaml", "deep_json"]
CSV = [*WHOLE, "empty_pcap", "bad_csv", "bad_yaml", "list_json"]

Argv = Callable[[dict[str, Path], Path], list[str]]


def _on(name: str, kinds: list[str], argv: Argv, *, known: dict[str, str] | None = None) -> list[object]:
    """One case of command ``name`` per kind of bad file; ``known`` kinds (kind -> the bug) are strict xfails."""
    known = known or {}
    return [pytest.param(kind, argv, id=f"{name}-{kind}",
                         marks=[pytest.mark.xfail(strict=True, reason=known[kind])] if kind in known else [])
            for kind in kinds]



KB_OUT = "r.yaml"
FILE_CASES: list[object] = [
    *_on("analyze", CAPTURE, lambda b, f: ["analyze", "--db", str(b["db"]), str(f)]),
    *_on("policy-propose", CAPTURE, lambda b, f: ["policy", "propose", "-o", str(b["dir"] / "p.yaml"), str(f)]),
    *_on("mud-generate", CAPTURE, lambda b, f: ["mud", "generate", MUD_MAC, "--capture", str(f)]),
    *_on("policy-validate", YAML, lambda b, f: ["policy", "validate", str(f)]),
    *_on("policy-load", YAML, lambda b, f: ["policy", "load", str(f), "--db", str(b["db"])]),
    *_on("playbooks-validate", YAML, lambda b, f: ["playbooks", "validate", str(f)]),
    *_on("playbooks-run", YAML, lambda b, f: ["playbooks", "run", str(f), "--db", str(b["db"])]),
    *_on("monitor-suppressions", [k for k in YAML if k != "folder"],
         lambda b, f: ["monitor", "--suppressions", str(f), "--once", "--no-store", str(b["watched"])]),
    *_on("monitor-detect-options", YAML,
         lambda b, f: ["monitor", "--detect-options", str(f), "--once", "--no-store", str(b["watched"])]),
    *_on("monitor-playbooks", YAML,
         lambda b, f: ["monitor", "--playbooks", str(f), "--once", "--db", str(b["db"]), str(b["watched"])]),
    *_on("lab-generate", YAML, lambda b, f: ["lab", "generate", str(f), "-o", str(b["dir"] / "lab.pcap")]),
    *_on("mud-validate", JSON, lambda b, f: ["mud", "validate", str(f)]),
    *_on("mud-fetch-ca", ANY_FILE, lambda b, f: ["mud", "fetch", "https://127.0.0.1:1/x.json", "--cache",
                                                 str(b["dir"] / "mud-cache"), "--ca", str(f)]),
    *_on("vulndb-import", JSON, lambda b, f: ["vulndb", "import", str(f), "--db", str(b["db"])]),
    *_on("inventory-import-approved", CSV,
         lambda b, f: ["inventory", "import-approved", str(f), "--db", str(b["db"])]),
    *_on("kb-import-p0f", WHOLE, lambda b, f: ["kb", "import", "p0f", str(f), "-o", str(b["dir"] / KB_OUT)]),
    *_on("kb-import-satori", WHOLE,
         lambda b, f: ["kb", "import", "satori", str(f), "-o", str(b["dir"] / KB_OUT)]),
    *_on("kb-import-fingerbank", WHOLE,
         lambda b, f: ["kb", "import", "fingerbank", str(f), "-o", str(b["dir"] / KB_OUT)]),
    *_on("kb-import-ja4", [*WHOLE, "bad_csv"],
         lambda b, f: ["kb", "import", "ja4", str(f), "-o", str(b["dir"] / KB_OUT)]),
    *_on("kb-update", [*WHOLE, "bad_csv"], lambda b, f: ["kb", "update", "--oui", str(f)]),
    *_on("firmware-analyze", ["missing", "folder", "unreadable", "io_error", "empty_pcap"],
         lambda b, f: ["firmware", "analyze", str(f), "--no-vulns"]),
    *_on("firmware-sign-key", ANY_FILE,
         lambda b, f: ["firmware", "sign", str(b["image_bin"]), "--key", str(f), "--vendor", "example.com",
                       "--model", "m", "--version", "1", "--sequence", "1", "-o", str(b["dir"] / "x.suit")]),
    *_on("firmware-verify-key", ANY_FILE,
         lambda b, f: ["firmware", "verify", str(b["image_bin"]), "--manifest", str(b["random_bin"]),
                       "--trusted-key", str(f)]),
    *_on("firmware-release-add", WHOLE,
         lambda b, f: ["firmware", "release", "add", str(f), "--uri", "https://x/", "--db", str(b["db"])]),
    *_on("firmware-golden-add", ["missing", "folder", "unreadable", "io_error"],
         lambda b, f: ["firmware", "golden", "add", "--model", "m", "--version", "1", "--image", str(f),
                       "--db", str(b["db"])]),
    # checked before NATS is tried (7 s): a missing file or interface, a FIFO the sniffer would block on
    *_on("sensor", ["missing", "fifo", "dev_zero"],
         lambda b, f: ["sensor", str(f), "--site", "s", "--nats", "nats://127.0.0.1:1"]),
    *_on("users-password-file", ["missing", "folder", "unreadable", "io_error", "random_bin"],
         lambda b, f: ["users", "create", "ann", "--password-file", str(f), "--db", str(b["db"])]),
]


@pytest.mark.parametrize(("kind", "argv"), FILE_CASES)
def test_a_bad_file_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str], bad: dict[str, Path],
                                                kind: str, argv: Argv) -> None:
    if kind == "unreadable" and _readable_only_to_root():
        pytest.skip(f"{UNREADABLE} is readable here")
    path = bad[kind]
    line = _check(capsys, argv(bad, path))
    assert path.name in line, f"the message does not name the file: {line}"


def test_a_truncated_capture_keeps_what_was_read(capsys: pytest.CaptureFixture[str], bad: dict[str, Path],
                                                 tmp_path: Path) -> None:
    line = _check(capsys, ["analyze", "--db", str(tmp_path / "t.db"), str(bad["truncated_pcap"])])
    assert "packets read before the damage" in line and "kept, marked partial" in line


def test_an_output_that_cannot_be_written_is_refused_before_the_work(capsys: pytest.CaptureFixture[str],
                                                                     bad: dict[str, Path]) -> None:
    scenario = Path(iotwarden.lab.__file__).parent / "scenarios" / "small.yaml"
    nowhere = bad["dir"] / "no-such-folder" / "out"
    for argv in (["lab", "generate", str(scenario), "-o", str(nowhere)],
                 ["lab", "generate", str(scenario), "-o", str(bad["folder"])],
                 ["policy", "propose", "-o", str(nowhere), "--db", str(bad["db"])],
                 ["kb", "import", "p0f", str(bad["bad_yaml"]), "-o", str(nowhere)],
                 ["report", "-f", "json", "-o", str(nowhere), "--db", str(bad["db"])],
                 ["firmware", "keygen", str(nowhere)],
                 ["firmware", "analyze", str(bad["image_bin"]), "--no-vulns", "--sbom", "spdx", "-o", str(nowhere)]):
        assert "cannot write" in _check(capsys, argv)


# --- bad databases ----------------------------------------------------------------------------------------------

def _newer_schema(folder: Path) -> Path:
    path = folder / "newer.db"
    if not path.exists():
        with Store(str(path)):
            pass
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    return path


BAD_DATABASES: dict[str, Callable[[dict[str, Path]], str]] = {
    "not-sqlite": lambda b: str(b["notdb"]),
    "folder": lambda b: str(b["folder"]),
    "no-such-folder": lambda b: str(b["dir"] / "nowhere" / "x.db"),
    "unreadable": lambda b: str(IO_ERROR),
    "unknown-scheme": lambda b: "mysql://u@127.0.0.1/x",
    "garbage-url": lambda b: "bogus://",
    "postgres-nothing-listens": lambda b: "postgresql+psycopg://u:secret@127.0.0.1:1/x",
    "newer-schema": lambda b: str(_newer_schema(b["dir"])),
}
STORE_COMMANDS: dict[str, Callable[[dict[str, Path]], list[str]]] = {
    "stats": lambda b: ["stats"], "devices": lambda b: ["devices"], "flows": lambda b: ["flows"],
    "findings": lambda b: ["findings"], "alerts": lambda b: ["alerts", "list"], "cases": lambda b: ["cases", "list"],
    "actions": lambda b: ["actions", "list"], "report": lambda b: ["report", "-f", "json"],
    "vulndb": lambda b: ["vulndb", "stats"], "users": lambda b: ["users", "list"],
    "policy": lambda b: ["policy", "versions", "p"], "identity": lambda b: ["identity", "list"],
    "campaign": lambda b: ["firmware", "campaign", "status", "c"],
    "inventory": lambda b: ["inventory", "approved"], "analyze": lambda b: ["analyze", str(DEMO)],
    "db-upgrade": lambda b: ["db", "upgrade"],
}


# each kind of database is tried on three commands; a damaged file and a newer schema on every command
DATABASE_CASES = [(database, name) for database in BAD_DATABASES for name in STORE_COMMANDS
                  if database in ("not-sqlite", "newer-schema") or name in ("stats", "analyze", "db-upgrade")]


@pytest.mark.parametrize(("database", "command_name"), DATABASE_CASES)
def test_a_bad_database_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str], bad: dict[str, Path],
                                                    database: str, command_name: str) -> None:
    line = _check(capsys, [*STORE_COMMANDS[command_name](bad), "--db", BAD_DATABASES[database](bad)])
    assert "secret" not in line  # a password in the URL is never shown


def test_a_database_of_a_newer_schema_is_left_untouched(capsys: pytest.CaptureFixture[str],
                                                        bad: dict[str, Path]) -> None:
    path = _newer_schema(bad["dir"])
    before = path.read_bytes()
    line = _check(capsys, ["analyze", str(DEMO), "--db", str(path)])
    assert "9999_from_the_future" in line and "newer version" in line
    assert path.read_bytes() == before


def test_a_database_of_an_older_schema_is_migrated_with_its_data(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(str(path), migrate=False)
    with store.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO captures (path, sha256, size, format, started, finished, status, packets, flows, "
                     "observations, devices, error, stats) VALUES ('first-site.pcap', NULL, 10, 'pcap', 1.0, 2.0, "
                     "'complete', 7, 0, 0, 0, NULL, '{}')")
    assert main(["stats", "--db", str(path), "-f", "json"]) == 0
    out = capsys.readouterr().out
    assert "first-site.pcap" in out
    assert Store(str(path), migrate=False).revision() == Store(str(tmp_path / "new.db")).revision()


def _in_read_only_mount(folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI with ``folder`` bind-mounted read-only in a private mount namespace (root only)."""
    script = (f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
              f"exec {sys.executable} -m iotwarden.cli.main " + " ".join(f"'{a}'" for a in argv))
    return subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_read_only_database_is_refused_in_one_line_and_read_as_it_is(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a read-only mount")
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "store.db"
    assert main(["analyze", str(DEMO), "--db", str(path), "-f", "json", "-o", str(tmp_path / "a.json")]) == 0
    before = path.read_bytes()
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    if probe.returncode:
        pytest.skip(f"no mount namespace here: {probe.stderr.decode().strip()}")
    done = _in_read_only_mount(folder, ["analyze", str(DEMO), "--db", str(path)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "read-only" in line and "immutable=1" in line
    read = _in_read_only_mount(folder, ["stats", "--db", f"sqlite:///file:{path}?immutable=1&uri=true"])
    assert read.returncode == 0, read.stderr
    assert "store holds" in read.stdout
    assert path.read_bytes() == before


# --- bad option values ------------------------------------------------------------------------------------------

OPTION_CASES: dict[str, Callable[[dict[str, Path]], list[str]]] = {
    "flows-negative-limit": lambda b: ["flows", "--limit", "-1"],
    "flows-port-out-of-range": lambda b: ["flows", "--port", "70000"],
    "findings-negative-limit": lambda b: ["findings", "--limit", "-5"],
    "findings-unknown-severity": lambda b: ["findings", "--severity", "bogus"],
    "findings-unknown-status": lambda b: ["findings", "--status", "bogus"],
    "alerts-unknown-status": lambda b: ["alerts", "list", "--status", "bogus"],
    "alerts-suppress-nothing-named": lambda b: ["alerts", "suppress", "--rules", str(b["dir"] / "s.yaml")],
    "alerts-suppress-bad-cidr": lambda b: ["alerts", "suppress", "--cidr", "10.0.0.0/33",
                                           "--rules", str(b["dir"] / "s.yaml")],
    "alerts-show-unknown-id": lambda b: ["alerts", "show", "999"],
    "alerts-id-not-a-number": lambda b: ["alerts", "ack", "one"],
    # beyond SQLite's 64-bit integers: sqlite3 raises OverflowError binding them (PostgreSQL a DataError)
    "alerts-id-beyond-64-bits": lambda b: ["alerts", "close", str(2**64)],
    "flows-limit-beyond-64-bits": lambda b: ["flows", "--limit", str(2**64)],
    "cases-id-beyond-64-bits": lambda b: ["cases", "note", str(2**64), "text"],
    "actions-case-beyond-64-bits": lambda b: ["actions", "list", "--case", str(2**64)],
    "policy-version-beyond-64-bits": lambda b: ["policy", "show", "p", "--version", str(2**64)],
    "campaign-release-beyond-64-bits": lambda b: ["firmware", "campaign", "create", "c", "--release", str(2**64)],
    "cases-unknown-status": lambda b: ["cases", "list", "--status", "bogus"],
    "devices-unknown": lambda b: ["devices", "show", "nope"],
    "analyze-unknown-format": lambda b: ["analyze", "-f", "xml", str(DEMO)],
    "report-unknown-format": lambda b: ["report", "-f", "pdf"],
    "report-html-without-output": lambda b: ["report", "-f", "html"],
    "identity-unknown-status": lambda b: ["identity", "list", "--status", "bogus"],
    "identity-negative-days": lambda b: ["identity", "expiring", "--days", "-1"],
    "identity-negative-token-hours": lambda b: ["identity", "enroll-token", "dev", "--hours", "-1"],
    "identity-no-ca": lambda b: ["identity", "issue", "dev", "--out", str(b["dir"]), "--ca-dir",
                                 str(b["dir"] / "no-ca")],
    "identity-unknown-algorithm": lambda b: ["identity", "init", "--algorithm", "rot13",
                                             "--ca-dir", str(b["dir"] / "ca")],
    "check-creds-bad-scope": lambda b: ["identity", "check-creds", "10.0.0.1/telnet", "--scope", "not-a-cidr"],
    "check-creds-no-attempts": lambda b: ["identity", "check-creds", "10.0.0.1/telnet", "--scope", "10.0.0.0/8",
                                          "--max-attempts", "0"],
    "monitor-anomaly-trees-negative": lambda b: ["monitor", "--detect-options", str(b["anomaly_yaml"]), "--once",
                                                 "--no-store", str(b["watched"])],  # numpy's ValueError before
    "monitor-scan-window-zero": lambda b: ["monitor", "--detect-options", str(b["window_yaml"]), "--once",
                                           "--no-store", str(b["watched"])],  # accepted before: every probe alone
    "monitor-negative-poll": lambda b: ["monitor", "--poll", "-1", "--once", "--no-store", str(b["watched"])],
    "monitor-nan-poll": lambda b: ["monitor", "--poll", "nan", "--no-store", str(b["watched"])],  # waited for ever
    "monitor-inf-poll": lambda b: ["monitor", "--poll", "inf", "--no-store", str(b["watched"])],
    "monitor-no-such-source": lambda b: ["monitor", "--no-store", "no-such-iface0"],
    "monitor-a-file": lambda b: ["monitor", "--no-store", str(b["truncated_pcap"])],
    "monitor-empty-source": lambda b: ["monitor", "--once", "--no-store", ""],  # not the working folder
    "serve-capture-missing": lambda b: ["serve", "--port", "1", "--capture", str(b["missing"])],  # refused, not served
    "monitor-unknown-export": lambda b: ["monitor", "--export", "carrier-pigeon://x", "--once", "--no-store",
                                         str(b["watched"])],
    "playbooks-unknown-enforcer": lambda b: ["playbooks", "run", str(b["folder"]), "--enforce", "magic"],
    "playbooks-bad-allow": lambda b: ["playbooks", "run", str(b["bad_yaml"]), "--allow", "nowhere"],
    "serve-negative-port": lambda b: ["serve", "--port", "-1"],
    # a filter is compiled once before the work starts; past MAX_FILTER_CHARS libpcap's optimiser took minutes
    "monitor-bpf-too-long": lambda b: ["monitor", "--bpf", " or ".join(f"port {p}" for p in range(1, 5000)),
                                       "--no-store", "lo"],
    "monitor-bpf-invalid": lambda b: ["monitor", "--bpf", "port ((", "--no-store", "lo"],
    "sensor-bpf-on-files": lambda b: ["sensor", str(DEMO), "--bpf", "tcp", "--site", "s", "--nats",
                                      "nats://127.0.0.1:1"],
    "sensor-bpf-too-long": lambda b: ["sensor", "lo", "--bpf", " or ".join(f"port {p}" for p in range(1, 5000)),
                                      "--site", "s", "--nats", "nats://127.0.0.1:1"],
    "monitor-bpf-on-a-folder": lambda b: ["monitor", "--bpf", "tcp", "--once", "--no-store", str(b["watched"])],
    # response options without --playbooks would do nothing: refused, not ignored
    "monitor-allow-without-playbooks": lambda b: ["monitor", "--allow", "10.0.0.0/8", "--once", "--no-store",
                                                  str(b["watched"])],
    "monitor-policy-without-playbooks": lambda b: ["monitor", "--policy", "p", "--once", str(b["watched"])],
    "monitor-enforce-without-playbooks": lambda b: ["monitor", "--enforce", "nftables", "--once", "--no-store",
                                                    str(b["watched"])],
    "mud-check-device-not-a-mac": lambda b: ["mud", "check", str(b["mud_json"]), str(DEMO), "--device",
                                             "not-a-mac"],  # matched no flow: an empty table and exit 0
    "mud-generate-device-not-a-mac": lambda b: ["mud", "generate", "not-a-mac", "--capture", str(DEMO)],
    "identity-issue-bad-dns": lambda b: ["identity", "issue", "dev", "--dns", "-bad-..", "--out", str(b["dir"]),
                                         "--ca-dir", str(b["dir"] / "no-ca")],
    "identity-init-crl-not-a-url": lambda b: ["identity", "init", "--crl-url", "not a url", "--ca-dir",
                                              str(b["dir"] / "ca-crl")],
    "identity-init-ocsp-ftp": lambda b: ["identity", "init", "--ocsp-url", "ftp://ocsp.example/", "--ca-dir",
                                         str(b["dir"] / "ca-ocsp")],
    "golden-add-empty-image": lambda b: ["firmware", "golden", "add", "--model", "m", "--version", "1", "--image",
                                         str(b["empty_pcap"])],
    "worker-negative-idle-exit": lambda b: ["worker", "--idle-exit", "-1", "--nats", "nats://127.0.0.1:1"],
    "worker-nan-idle-exit": lambda b: ["worker", "--idle-exit", "nan", "--nats", "nats://127.0.0.1:1"],
    # click's min=0 let NaN and inf through: a limit never reached, nor 0's "forever"
    "worker-nan-outage-limit": lambda b: ["worker", "--outage-limit", "nan", "--nats", "nats://127.0.0.1:1"],
    "sensor-inf-outage-limit": lambda b: ["sensor", str(DEMO), "--site", "s", "--outage-limit", "inf",
                                          "--nats", "nats://127.0.0.1:1"],
    "lab-negative-duration": lambda b: ["lab", "generate", str(Path(iotwarden.lab.__file__).parent / "scenarios"
                                                               / "small.yaml"), "-o", str(b["dir"] / "l.pcap"),
                                        "--duration", "-5"],
    # past the scenario's MAX_DURATION (it ran for ever), or no number at all (int(nan) failed)
    "lab-duration-nan": lambda b: ["lab", "generate", str(SMALL_SCENARIO), "-o", str(b["dir"] / "l.pcap"),
                                   "--duration", "nan"],
    "lab-duration-inf": lambda b: ["lab", "generate", str(SMALL_SCENARIO), "-o", str(b["dir"] / "l.pcap"),
                                   "--duration", "inf"],
    "lab-duration-1e300": lambda b: ["lab", "generate", str(SMALL_SCENARIO), "-o", str(b["dir"] / "l.pcap"),
                                     "--duration", "1e300"],
    "kb-unknown-format": lambda b: ["kb", "import", "nmap", str(b["bad_yaml"]), "-o", str(b["dir"] / "r.yaml")],
    "kb-lookup-not-a-mac": lambda b: ["kb", "lookup", "zz:zz"],
    "keygen-unknown-algorithm": lambda b: ["firmware", "keygen", str(b["dir"] / "k.pem"), "--algorithm", "rot13"],
    "sign-negative-sequence": lambda b: ["firmware", "sign", str(b["image_bin"]), "--key", str(b["random_bin"]),
                                         "--vendor", "v", "--model", "m", "--version", "1", "--sequence", "-1"],
    "sign-sequence-beyond-64-bits": lambda b: ["firmware", "sign", str(b["image_bin"]), "--key", str(b["random_bin"]),
                                               "--vendor", "v", "--model", "m", "--version", "1",
                                               "--sequence", str(2**64)],  # a CBOR bignum, not a uint
    "verify-hash-not-hex": lambda b: ["firmware", "verify-hash", "xyz", "--model", "m", "--version", "1"],
    "campaign-bad-stages": lambda b: ["firmware", "campaign", "create", "c", "--release", "1", "--stages", "a,b"],
    "campaign-stages-out-of-range": lambda b: ["firmware", "campaign", "create", "c", "--release", "1",
                                               "--stages", "-5,200"],
    "campaign-unknown-event": lambda b: ["firmware", "campaign", "checkin", "dev", "exploded"],
    "policy-show-unknown": lambda b: ["policy", "show", "nope"],
    "policy-propose-bad-name": lambda b: ["policy", "propose", "-o", str(b["dir"] / "p.yaml"), "--name", ""],
    "policy-apply-without-target": lambda b: ["policy", "apply", str(b["bad_yaml"])],
    "mud-fetch-http": lambda b: ["mud", "fetch", "http://example.com/x.json", "--cache", str(b["dir"])],
    "mud-fetch-port-out-of-range": lambda b: ["mud", "fetch", "https://127.0.0.1:99999/x.json", "--cache",
                                              str(b["dir"])],
    "mud-fetch-unclosed-ipv6": lambda b: ["mud", "fetch", "https://[::1/x.json", "--cache", str(b["dir"])],
    "users-unknown-role": lambda b: ["users", "create", "ann", "--role", "emperor", "--password-file",
                                     str(b["bad_yaml"])],
    "users-unknown-user": lambda b: ["users", "set-password", "nobody-here", "--password-file", str(b["bad_yaml"])],
    "unknown-command": lambda b: ["frobnicate"],
    "unknown-option": lambda b: ["stats", "--frobnicate"],
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_a_bad_option_value_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str], bad: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.setenv("IOTWARDEN_DB", str(bad["db"]))
    monkeypatch.delenv("IOTWARDEN_CA_PASSPHRASE", raising=False)
    line = _check(capsys, OPTION_CASES[case](bad))
    assert len(line) < 400, line


# --- Ctrl-C ------------------------------------------------------------------------------------------------------

def _repeated_capture(path: Path, copies: int) -> Path:
    """demo.pcap's packets ``copies`` times over, each copy an hour later: a long capture to interrupt."""
    data = DEMO.read_bytes()
    header, body = data[:24], data[24:]
    endian = "<" if header[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records = []
    off = 0
    while off + 16 <= len(body):
        sec, frac, incl, orig = struct.unpack_from(f"{endian}IIII", body, off)
        records.append((sec, frac, incl, orig, body[off + 16:off + 16 + incl]))
        off += 16 + incl
    with path.open("wb") as fh:
        fh.write(header)
        for copy in range(copies):
            for sec, frac, incl, orig, payload in records:
                fh.write(struct.pack(f"{endian}IIII", sec + 3600 * copy, frac, incl, orig) + payload)
    return path


def _completed_captures(db: Path) -> list[str]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return [r[0] for r in conn.execute("SELECT path FROM captures WHERE status = 'complete'")]
    except sqlite3.Error:
        return []


@pytest.mark.slow
def test_ctrl_c_mid_capture_leaves_the_store_as_before_that_capture(tmp_path: Path) -> None:
    small = tmp_path / "small.pcap"
    shutil.copy(DEMO, small)
    big = _repeated_capture(tmp_path / "big.pcap", 40)
    db = tmp_path / "store.db"
    # the command starts as from an interactive shell, SIGINT at its default: a test session launched as a
    # background job of a non-interactive shell ignores SIGINT, and an ignored signal stays ignored across exec
    # (a caught one is reset to the default)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "iotwarden.cli.main", "analyze", "--db", str(db), "-f",
                                 "json", str(small), str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not _completed_captures(db) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the big capture (tens of seconds of work)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted"
    with sqlite3.connect(db) as conn:
        captures = conn.execute("SELECT path, status, flows FROM captures").fetchall()
        stored_flows = conn.execute("SELECT count(*) FROM flows").fetchone()[0]
    assert captures == [(str(small), "complete", captures[0][2])]  # the interrupted capture left no trace
    assert stored_flows == captures[0][2]


# --- the last edge ----------------------------------------------------------------------------------------------

def test_every_group_without_its_command_prints_help_and_no_error(capsys: pytest.CaptureFixture[str]) -> None:
    for group in ("db", "kb", "lab", "firmware", "vulndb", "mud", "policy", "users"):
        assert main([group]) == 2
        captured = capsys.readouterr()
        assert "Usage:" in captured.out + captured.err and "Traceback" not in captured.err
