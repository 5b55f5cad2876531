"""``detect.mud.violation``: a device with a MUD profile breaks it; profiles from the operator's map or
from the MUD cache for the URL the device announced; bounded state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.addons import AddonManager
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.engine.core import Engine
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.model import Flow, Observation
from iotwarden.policy.mud import detector as det
from iotwarden.policy.mud.detector import VIOLATION, MudDetector
from iotwarden.policy.mud.fetch import MudCache
from iotwarden.policy.mud.generate import generate
from iotwarden.policy.mud.model import MudProfile
from iotwarden.policy.mud.traffic import DnsTable, read_traffic
from iotwarden.sources.capfile import read_capture
from tests.detect.runner import feed, tcp_flow
from tests.policy.mud.conftest import INFECTED_MAC


def run(detector: MudDetector, capture: Path) -> Context:
    ctx = Context()
    addons = AddonManager(ctx, [InventoryBuilder(), detector, AlertPipeline()])
    addons.load()
    engine = Engine()
    for batch in read_capture(capture):
        res = engine.process(batch)
        addons.observations(res.observations)
        addons.flows(res.flows)
        addons.tick(float(batch.ts[-1]))
    addons.flows(engine.flush().flows)
    addons.done()
    assert not ctx.stats.analyzer_errors
    return ctx


@pytest.fixture(scope="module")
def camera_profile(lab_captures: tuple[Path, Path]) -> MudProfile:
    benign = read_traffic(lab_captures[0])
    return generate(benign.flows, name="cam-parking", mac=INFECTED_MAC, dns=benign.dns)


def test_the_lab_attack_breaks_the_cameras_profile_and_the_benign_day_does_not(
        tmp_path: Path, lab_captures: tuple[Path, Path], camera_profile: MudProfile) -> None:
    (tmp_path / "cam.json").write_text(json.dumps(camera_profile.to_dict()))
    (tmp_path / "map.json").write_text(json.dumps({INFECTED_MAC: "cam.json"}))
    options = {"profiles": str(tmp_path / "map.json")}
    assert run(MudDetector(options), lab_captures[0]).alerts == []
    alerts = run(MudDetector(options), lab_captures[1]).alerts
    assert alerts and {a.id for a in alerts} == {VIOLATION}
    assert {a.subject for a in alerts} == {f"mac:{INFECTED_MAC}"}
    ports = {a.key.rsplit("/", 1)[1] for a in alerts}
    assert {"23", "2323", "445", "3389", "22"} <= ports
    assert all(a.mitre == ["T1071", "T1571"] and a.flows for a in alerts)


def test_the_profile_of_an_announced_mud_url_is_read_from_the_cache(tmp_path: Path, camera_profile: MudProfile) -> None:
    url = "https://mud.hikvision.example/cam.json"
    camera_profile.mud_url = url
    MudCache(tmp_path).put(url, json.dumps(camera_profile.to_dict()).encode(), {"fetched_at": 0.0})
    dhcp = Observation(ts=1.0, proto="dhcp", kind="request", src_mac=INFECTED_MAC, src_ip="10.10.20.13",
                       fields={"mud_url": url})
    telnet = tcp_flow("10.10.20.13", "10.10.20.77", 23, 2.0, a_mac=INFECTED_MAC)
    alerts = feed([MudDetector({"cache_dir": str(tmp_path)})], [dhcp], [telnet])
    assert [(a.id, a.key) for a in alerts] == [(VIOLATION, "from-device:10.10.20.77:6/23")]
    assert alerts[0].evidence["mud_url"] == url and alerts[0].evidence["ace"] == "no ACE"
    assert feed([MudDetector({"cache_dir": str(tmp_path)})], [], [telnet]) == []  # nothing announced


def test_the_detector_is_handed_only_what_it_reads_and_learns_nothing_while_idle(
        tmp_path: Path, camera_profile: MudProfile) -> None:
    calls: list[str] = []

    class Counting(MudDetector):
        def on_observation(self, ctx: Context, obs: Observation) -> None:
            calls.append(obs.proto)
            super().on_observation(ctx, obs)

    seen = [Observation(ts=1.0, proto=p, kind="x", src_ip="10.0.0.1", fields={"mud_url": "https://m.example/x"})
            for p in ("dns", "dhcp", "tls", "lldp")]
    for detector, learns in ((Counting(), False), (Counting({"cache_dir": str(tmp_path)}), True),
                             (Counting(profiles={INFECTED_MAC: camera_profile}), True)):
        calls.clear()
        AddonManager(Context(), [detector]).observations(seen)
        assert calls == ["dns", "dhcp", "lldp"]  # DNS answers and announced MUD URLs: nothing else is read
        assert bool(detector.announced) is learns  # idle: no profile, no cache, so what it would learn is never read


def test_a_profile_added_after_the_detector_was_built_is_checked_with_what_it_learns_from_then_on() -> None:
    def answer(name: str, address: str, ts: float) -> Observation:
        return Observation(ts=ts, proto="dns", kind="response", src_ip="10.10.20.1", dst_ip="10.10.20.13",
                           fields={"questions": [{"name": name, "type": "A"}],
                                   "answers": [{"name": name, "type": "A", "ttl": 60, "data": address}]})

    learnt = DnsTable()
    learnt.observe(answer("cloud.maker.example", "203.0.113.5", 0.5))
    profile = generate([tcp_flow("10.10.20.13", "203.0.113.5", 443, 1.0, a_mac=INFECTED_MAC)], name="cam",
                       mac=INFECTED_MAC, dns=learnt)
    assert "cloud.maker.example" in json.dumps(profile.to_dict())  # the cloud is allowed by name
    detector = MudDetector()  # idle when built: no profile, no cache
    ctx = Context()
    addons = AddonManager(ctx, [detector, AlertPipeline()])
    detector.profiles[INFECTED_MAC] = profile
    addons.observations([answer("cloud.maker.example", "198.51.100.7", 2.0)])  # the cloud moved
    addons.flows([tcp_flow("10.10.20.13", "198.51.100.7", 443, 3.0, a_mac=INFECTED_MAC),
                  tcp_flow("10.10.20.13", "10.10.20.77", 23, 4.0, a_mac=INFECTED_MAC)])
    addons.tick(5.0)
    addons.done()
    assert not ctx.stats.analyzer_errors
    assert [(a.id, a.key) for a in ctx.alerts] == [(VIOLATION, "from-device:10.10.20.77:6/23")]


def test_violation_keys_per_device_are_bounded(monkeypatch: pytest.MonkeyPatch, camera_profile: MudProfile) -> None:
    monkeypatch.setattr(det, "MAX_KEYS_PER_DEVICE", 3)
    flows = [tcp_flow("10.10.20.13", f"10.10.20.{i}", 23, float(i), a_mac=INFECTED_MAC) for i in range(50, 60)]
    alerts = feed([MudDetector(profiles={INFECTED_MAC: camera_profile})], [], flows)
    assert len({a.key for a in alerts}) == 4 and "other" in {a.key for a in alerts}


def test_the_devices_whose_violation_keys_are_kept_are_bounded(camera_profile: MudProfile) -> None:
    """Before: keys were bounded per device only, and every device that ever broke a profile stayed tracked."""
    macs = [f"02:00:00:00:01:{i:02x}" for i in range(5)]
    detector = MudDetector({"max_devices": 2}, profiles=dict.fromkeys(macs, camera_profile))
    alerts = feed([detector], [], [tcp_flow(f"10.10.20.{110 + i}", "10.10.20.77", 23, 10.0 + i, a_mac=mac)
                                   for i, mac in enumerate(macs)])
    assert {a.subject for a in alerts} == {f"mac:{m}" for m in macs}  # every device still checked and raised
    assert list(detector._keys) == [f"mac:{m}" for m in macs[-2:]] and detector.evicted == {"devices": 3}
    with pytest.raises(ConfigError, match="max_devices"):
        MudDetector({"max_devices": 0})


def test_a_broken_profile_map_is_one_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "map.json").write_text(json.dumps({"aa:bb:cc:dd:ee:ff": "missing.json"}))
    with pytest.raises(ConfigError, match=r"aa:bb:cc:dd:ee:ff: .*missing\.json"):
        MudDetector({"profiles": str(tmp_path / "map.json")})
    (tmp_path / "deep.json").write_text("[" * 3000 + "]" * 3000)  # deeper than json's parser recurses
    (tmp_path / "map.json").write_text(json.dumps({"aa:bb:cc:dd:ee:ff": "deep.json"}))
    with pytest.raises(ConfigError, match=r"aa:bb:cc:dd:ee:ff: .*deep\.json: nested too deeply"):
        MudDetector({"profiles": str(tmp_path / "map.json")})
    with pytest.raises(ConfigError, match=r"MUD profiles map .*: nested too deeply"):
        MudDetector({"profiles": str(tmp_path / "deep.json")})
    with pytest.raises(ConfigError, match="MUD profiles map /dev/zero: not a regular file"):  # never read whole
        MudDetector({"profiles": "/dev/zero"})
    with pytest.raises(ConfigError, match="unknown option"):
        MudDetector({"profile": "x"})


def _announcing(tmp_path: Path, profile: MudProfile, devices: int) -> tuple[MudCache, list[Observation]]:
    """``devices`` cameras, each announcing its own MUD URL in DHCP (every URL's profile in the cache)."""
    cache = MudCache(tmp_path)
    out = []
    for i in range(devices):
        url = f"https://mud.maker.example/cam{i}.json"
        profile.mud_url = url
        cache.put(url, json.dumps(profile.to_dict()).encode(), {"fetched_at": 0.0})
        out.append(Observation(ts=1.0 + i, proto="dhcp", kind="request", src_mac=f"02:00:00:00:00:{i:02x}",
                               src_ip=f"10.10.20.{100 + i}", fields={"mud_url": url}))
    return cache, out


def _telnet(i: int, ts: float = 100.0) -> Flow:
    return tcp_flow(f"10.10.20.{100 + i}", "10.10.20.77", 23, ts + i, a_mac=f"02:00:00:00:00:{i:02x}")


def test_a_full_table_of_announced_urls_forgets_the_oldest_not_the_newest_device(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, camera_profile: MudProfile) -> None:
    """Before: a full table refused every new announcement, so a device announcing after it filled was never
    checked (no alert, nothing counted). Now the least recently used device is forgotten and counted."""
    monkeypatch.setattr(det, "MAX_ANNOUNCED", 4)  # two devices: a MAC and an address each
    _, announced = _announcing(tmp_path, camera_profile, 3)
    detector = MudDetector({"cache_dir": str(tmp_path)})
    alerts = feed([detector], announced, [_telnet(0), _telnet(2)])
    assert [a.subject for a in alerts] == ["mac:02:00:00:00:00:02"]  # the newest is checked, the oldest forgotten
    assert len(detector.announced) == 4 and detector.evicted == {"announced": 2}


def test_a_full_table_of_cached_profiles_forgets_the_least_recently_used(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, camera_profile: MudProfile) -> None:
    """Before: past the limit a URL's profile was never looked up, so its device was never checked again."""
    monkeypatch.setattr(det, "MAX_CACHED_PROFILES", 1)
    _, announced = _announcing(tmp_path, camera_profile, 3)
    detector = MudDetector({"cache_dir": str(tmp_path)})
    alerts = feed([detector], announced, [_telnet(0), _telnet(1), _telnet(2), _telnet(0, 200.0)])
    assert sorted({a.subject for a in alerts}) == [f"mac:02:00:00:00:00:{i:02x}" for i in range(3)]
    assert len(detector._cached) == 1 and detector.evicted == {"cached": 3}
