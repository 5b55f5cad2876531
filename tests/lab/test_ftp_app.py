"""Lab FTP (enterprise-ftp.yaml): two cameras upload snapshots to app01's vsftpd (the parking camera with the
published default pair admin/12345, PASV; the dock camera with its own account, EPSV), read back by dissect/ftp.py
and by tshark alike; risk.cleartext.ftp and risk.credentials.default fire on the server logged into, naming the
camera; the infected recorder's guessing from Mirai's list raises detect.bruteforce.ftp naming it, and with the
attack off nothing is alerted. The inventory is the ground truth's, as enterprise.yaml's."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from iotwarden.addons import default_analyzers
from iotwarden.dissect.ftp import FtpDissector
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.kb.index import KnowledgeBase
from iotwarden.lab.credentials import MIRAI_CREDENTIALS
from iotwarden.lab.ftp_app import passive_reply
from iotwarden.lab.generator import attack_params, behaviour_params, generate, load_scenario
from iotwarden.lab.scenario import parse_scenario, read_scenario_file
from tests.detect.runner import detect
from tests.lab.conftest import SCENARIOS
from tests.pcaputil import run_dissector
from tests.risk.harness import found, run_capture

SERVER_KEY = "mac:98:e7:43:10:00:0c"  # srv-linux (app01), vsftpd
SERVER_IP = "10.10.10.12"
UPLOAD_COMMANDS = {"pasv": ["USER", "PASS", "TYPE", "PASV", "STOR", "QUIT"],
                   "epsv": ["USER", "PASS", "TYPE", "EPSV", "STOR", "QUIT"]}
UPLOAD_REPLIES = {"pasv": ["220", "331", "230", "200", "227", "150", "226", "221"],
                  "epsv": ["220", "331", "230", "200", "229", "150", "226", "221"]}


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("ftp-lab")
    generate(load_scenario(SCENARIOS / "enterprise-ftp.yaml"), out / "a.pcap", out / "a.json")
    return out / "a.pcap", json.loads((out / "a.json").read_text())


@pytest.fixture(scope="module")
def analysed(attack: tuple[Path, dict[str, Any]]) -> Context:
    return run_capture(attack[0], default_analyzers())


def _device(truth: dict[str, Any], device_id: str) -> dict[str, Any]:
    (dev,) = [d for d in truth["devices"] if d["id"] == device_id]
    return dict(dev)


def test_the_uploads_and_the_guessing_are_read_back(attack: tuple[Path, dict[str, Any]]) -> None:
    path, truth = attack
    obs = run_dissector(FtpDissector(), path)
    cam, dock, dvr = (_device(truth, d)["ips"][0] for d in ("cam-parking", "cam-dock", "dvr-lobby"))
    logins = [o for o in obs if o.kind == "login_attempt"]
    assert {o.fields["banner"] for o in obs if o.kind == "banner"} == {"(vsFTPd 3.0.5)"}
    assert {o.src_ip for o in obs if o.kind == "banner"} == {SERVER_IP}
    by_client = {ip: {(o.fields["username"], o.fields["password"], o.fields["result"], o.fields["code"])
                      for o in logins if o.src_ip == ip} for ip in (cam, dock, dvr)}
    assert by_client[cam] == {("admin", "12345", "success", 230)}
    assert by_client[dock] == {("axis-dock", "Dk4!ftp-upl", "success", 230)}
    guesses = [o for o in logins if o.src_ip == dvr]
    mirai = {(u, p) for u, p, _ in MIRAI_CREDENTIALS}
    assert len(guesses) == 10 and all(o.dst_ip == SERVER_IP for o in guesses)
    assert {(u, p) for u, p, *_ in by_client[dvr]} <= mirai and {r for *_, r, _ in by_client[dvr]} == {"failure"}
    assert len({(o.fields["username"], o.fields["password"]) for o in guesses}) == 10  # ten distinct pairs
    # one login per upload: every 150 s (± 20 %) from 20 s for the parking camera over the 600 s scenario
    assert 3 <= sum(o.src_ip == cam for o in logins) <= 5


def _tshark(path: Path) -> list[list[str]]:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed")
    fields = ["tcp.stream", "ip.src", "ftp.request.command", "ftp.request.arg", "ftp.response.code"]
    out = subprocess.run([tshark, "-r", str(path), "-Y", "ftp", "-T", "fields", "-E", "occurrence=f",
                          *(a for f in fields for a in ("-e", f))], capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


def test_tshark_reads_the_same_dialogue(attack: tuple[Path, dict[str, Any]]) -> None:
    path, truth = attack
    rows = _tshark(path)
    streams: dict[str, list[list[str]]] = {}
    for row in rows:
        streams.setdefault(row[0], []).append(row)
    cam, dock, dvr = (_device(truth, d)["ips"][0] for d in ("cam-parking", "cam-dock", "dvr-lobby"))
    mode = {cam: "pasv", dock: "epsv"}
    seen: dict[str, int] = {cam: 0, dock: 0, dvr: 0}
    tshark_logins = set()
    for lines in streams.values():
        client = next(r[1] for r in lines if r[2])
        seen[client] += 1
        commands = [r[2] for r in lines if r[2]]
        replies = [r[4] for r in lines if r[4]]
        if client in mode:
            assert commands == UPLOAD_COMMANDS[mode[client]] and replies == UPLOAD_REPLIES[mode[client]]
        else:
            assert commands == ["USER", "PASS", "QUIT"] and replies == ["220", "331", "530", "221"]
        args = {r[2]: r[3] for r in lines if r[2]}
        tshark_logins.add((client, args["USER"], args["PASS"]))
    ours = {(o.src_ip, o.fields["username"], o.fields["password"])
            for o in run_dissector(FtpDissector(), path) if o.kind == "login_attempt"}
    assert tshark_logins == ours
    assert seen[dvr] == 10 and seen[cam] >= 3 and seen[dock] >= 2


def test_the_passive_replies_follow_rfc_959_and_2428() -> None:
    assert passive_reply("pasv", "10.10.10.12", 40046) == b"227 Entering Passive Mode (10,10,10,12,156,110).\r\n"
    assert passive_reply("epsv", "10.10.10.12", 40085) == b"229 Entering Extended Passive Mode (|||40085|)\r\n"


def test_cleartext_ftp_and_the_default_pair_are_found_on_the_server(analysed: Context,
                                                                     attack: tuple[Path, dict[str, Any]]) -> None:
    truth = attack[1]
    cam = _device(truth, "cam-parking")["ips"][0]
    cleartext = found(analysed, "risk.cleartext.ftp")
    assert set(cleartext) == {SERVER_KEY} and cleartext[SERVER_KEY].severity == "high"
    assert cam in cleartext[SERVER_KEY].evidence["clients"]
    assert "12345" not in str(cleartext[SERVER_KEY].evidence)  # the finding never repeats a password
    default = found(analysed, "risk.credentials.default")[SERVER_KEY]
    assert default.severity == "critical" and "admin:12345" in default.evidence["credentials"]
    assert "ftp" in default.evidence["services"] and cam in default.evidence["clients"]


def test_the_guessing_is_in_the_truth_and_alerted(attack: tuple[Path, dict[str, Any]]) -> None:
    path, truth = attack
    (event,) = truth["attacks"]
    assert event["kind"] == "ftp_bruteforce" and event["technique"].startswith("T1110.001")
    assert event["attacker"]["id"] == "dvr-lobby" and event["targets"] == [SERVER_IP]
    alerts = detect([path]).alerts
    assert [(a.id, a.subject, a.src_ip, a.dst_ip) for a in alerts] == [
        ("detect.bruteforce.ftp", f"mac:{event['attacker']['mac']}", event["attacker"]["ip"], SERVER_IP)]


def test_with_the_attack_off_nothing_is_alerted(tmp_path: Path) -> None:
    truth = generate(load_scenario(SCENARIOS / "enterprise-ftp.yaml"), tmp_path / "b.pcap", attacks=False)
    assert truth["attacks"] == []
    ctx = detect([tmp_path / "b.pcap"])
    assert len(ctx.devices) > 30 and [a.title for a in ctx.alerts] == []


def test_the_inventory_is_the_ground_truth(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        from classify_eval import lab_rows
    finally:
        sys.path.pop(0)
    rows = lab_rows(KnowledgeBase.load(), tmp_path, ("enterprise-ftp",))
    assert len(rows) == 37
    assert [(r.name, r.vendor, r.device_type) for r in rows if not (r.vendor_ok and r.type_ok)] == []


def test_the_scenario_adds_behaviours_to_enterprise_s_devices_only() -> None:
    base, ftp = load_scenario(SCENARIOS / "enterprise.yaml"), load_scenario(SCENARIOS / "enterprise-ftp.yaml")
    assert [(d.id, d.mac, d.ip) for d in ftp.devices] == [(d.id, d.mac, d.ip) for d in base.devices]
    changed = {d.id: [b.kind for b in d.behaviours[len(b0.behaviours):]]
               for d, b0 in zip(ftp.devices, base.devices, strict=True) if len(d.behaviours) != len(b0.behaviours)}
    assert changed == {"cam-parking": ["ftp_upload"], "cam-dock": ["ftp_upload"]}
    assert not base.attacks and [a.kind for a in ftp.attacks] == ["ftp_bruteforce"]


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    shutil.copy(SCENARIOS / "enterprise.yaml", tmp_path / "enterprise.yaml")
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump({"extends": "enterprise.yaml", "name": "variant", **doc}))
    return path


@pytest.mark.parametrize(("added", "message"), [
    ({"cam-nowhere": []}, "variant.yaml.add_behaviours.cam-nowhere: no such device"),
    (["cam-dock"], "variant.yaml.add_behaviours: expected a mapping"),
    ({"cam-dock": {"kind": "ftp_upload"}}, "variant.yaml.add_behaviours.cam-dock: expected a list of behaviours"),
])
def test_add_behaviours_mistakes_are_one_error_line(tmp_path: Path, added: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        read_scenario_file(_write(tmp_path, {"add_behaviours": added}))


@pytest.mark.parametrize(("params", "message"), [
    ({"passive": "active"}, r"\.passive: one of pasv, epsv"),
    ({"pasv_min_port": 50000, "pasv_max_port": 40000}, "pasv_min_port 50000 is above pasv_max_port 40000"),
    ({"pasv_min_port": 80}, r"pasv_min_port"),
])
def test_bad_upload_parameters_are_one_error_line(tmp_path: Path, params: dict[str, Any], message: str) -> None:
    upload = {"kind": "ftp_upload", "server": "srv-linux", "username": "u", "password": "p", **params}
    path = _write(tmp_path, {"add_behaviours": {"cam-dock": [upload]}})
    with pytest.raises(ConfigError, match=message):
        generate(load_scenario(path), tmp_path / "x.pcap", duration=60)


def test_the_guessing_stops_at_a_pair_the_server_takes(tmp_path: Path) -> None:
    raw = copy.deepcopy(read_scenario_file(SCENARIOS / "enterprise-ftp.yaml"))
    cam = next(d for d in raw["devices"] if d["id"] == "cam-parking")
    cam["behaviours"][-1].update(username="root", password="xc3511")  # Mirai's heaviest pair
    raw["attacks"][0]["attempts"] = len(MIRAI_CREDENTIALS)
    truth = generate(parse_scenario(raw, behaviour_params(), attack_params()), tmp_path / "s.pcap", duration=300)
    attacker = truth["attacks"][0]["attacker"]["ip"]
    guesses = [o for o in run_dissector(FtpDissector(), tmp_path / "s.pcap")
               if o.kind == "login_attempt" and o.src_ip == attacker]
    assert guesses[-1].fields["result"] == "success"
    assert (guesses[-1].fields["username"], guesses[-1].fields["password"]) == ("root", "xc3511")
    assert all(o.fields["result"] == "failure" for o in guesses[:-1])


def test_add_behaviours_over_a_malformed_base_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"name": "b", "devices": [{"id": ["x"]}, "junk"]}))
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump({"extends": "base.yaml", "add_behaviours": {"x": []}}))
    with pytest.raises(ConfigError, match=r"variant\.yaml\.add_behaviours\.x: no such device"):
        read_scenario_file(path)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"name": "b", "devices": {"x": 1}}))
    with pytest.raises(ConfigError, match="no device list to add to"):
        read_scenario_file(path)
