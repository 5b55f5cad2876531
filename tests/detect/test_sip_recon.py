"""SIP reconnaissance: scanning tools named by their User-Agent, extension enumeration (svwar's walk)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from iotwarden.detect.sip_recon import EXTENSIONS, TOOL, SipReconDetector
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.model import Observation
from tests.detect.runner import feed

CLIENT, SERVER, MAC = "10.0.0.66", "10.0.0.5", "02:00:00:00:00:66"


def _request(ts: float, user: str, *, agent: str = "Yealink SIP-T54W 96.86.0.70", credentials: bool = False,
             method: str = "REGISTER", dst: str = SERVER) -> Observation:
    return Observation(ts=ts, proto="sip", kind="request", src_ip=CLIENT, dst_ip=dst, src_mac=MAC, subject="src",
                       fields={"method": method, "to": f"{user}@pbx.example", "user_agent": agent,
                               "credentials": credentials})


def _answer(ts: float, user: str, status: int, credentials_sent: bool | None = False) -> Observation:
    return Observation(ts=ts, proto="sip", kind="response", src_ip=SERVER, dst_ip=CLIENT, dst_mac=MAC, subject="src",
                       fields={"status": status, "to": f"{user}@pbx.example", "credentials_sent": credentials_sent,
                               "cseq_method": "REGISTER"})


@pytest.mark.parametrize("agent", ["friendly-scanner", "pplsip", "sipcli/v1.8", "SIPVicious 0.3.4", "sipptk"])
def test_a_scanning_tools_user_agent_is_named_once_per_source(agent: str) -> None:
    obs = [_request(10.0 + i, "100", agent=agent, method="OPTIONS", dst=f"10.0.0.{i + 1}") for i in range(30)]
    alerts = feed([SipReconDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.subject) for a in alerts] == [(TOOL, CLIENT, f"mac:{MAC}")]
    assert alerts[0].evidence["user_agent"] == agent


def test_a_new_lease_holder_running_the_same_tool_is_named_too() -> None:
    """The scanner's address leased to another device (its own MAC) within realert_s, and the new holder runs the
    same tool: it is another device's scan. Before: the re-alert table, kept per address, swallowed it; now each
    holder is named once (the second's next request within realert_s still raises nothing)."""
    new = "02:00:00:00:00:99"
    obs = [_request(10.0, "100", agent="friendly-scanner", method="OPTIONS"),
           replace(_request(20.0, "101", agent="friendly-scanner", method="OPTIONS"), src_mac=new),
           replace(_request(30.0, "102", agent="friendly-scanner", method="OPTIONS"), src_mac=new)]
    alerts = feed([InventoryBuilder(), SipReconDetector()], observations=obs)
    assert [(a.id, a.subject, a.first_seen) for a in alerts] == [(TOOL, f"mac:{MAC}", 10.0), (TOOL, f"mac:{new}", 20.0)]


@pytest.mark.parametrize("agent", ["Asterisk PBX 18.10.0", "PolycomVVX-VVX_450-UA/6.4.3.5018", "Zoiper rv2.10",
                                   "ScanSoft SpeechPort", "Linphone/5.2 (belle-sip/5.2.0)", "MicroSIP/3.21.3"])
def test_ordinary_user_agents_name_no_tool(agent: str) -> None:
    assert feed([SipReconDetector()], observations=[_request(10.0, "100", agent=agent)]) == []


def test_svwar_walking_extensions_is_enumeration() -> None:
    # REGISTER per extension, no credentials, 404 for none, 401 for one that exists, never a follow-up
    obs = []
    for i in range(40):
        obs += [_request(10.0 + i * 0.05, str(100 + i)), _answer(10.01 + i * 0.05, str(100 + i), 401 if i % 7 else 404)]
    obs.append(_request(60.0, "999"))  # time passes: the refused users are settled
    alerts = feed([SipReconDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.dst_ip) for a in alerts] == [(EXTENSIONS, CLIENT, SERVER)]
    assert alerts[0].evidence["users_probed"] >= 20


def test_a_lease_moving_mid_series_starts_the_new_holders_own_series() -> None:
    """The client's address leased to another device (its own MAC) mid-walk, after a gap past handover_s (300 s),
    within the window (900 s here): the extensions the first holder was refused are not the second's. Before
    de7d481: counted together and named the first holder; now the second's own. Taken over within handover_s (a
    gap of 100 s), the walk goes on: one series, named after the second."""
    new = "02:00:00:00:00:99"

    def walk(gap: float) -> list[Observation]:
        obs = []
        for i in range(40):
            mac, t = (MAC, 10.0 + i * 0.05) if i < 10 else (new, 10.0 + gap + i * 0.05)
            obs += [replace(_request(t, str(100 + i)), src_mac=mac), replace(_answer(t + 0.01, str(100 + i), 401),
                                                                            dst_mac=mac)]
        obs.append(replace(_request(gap + 60.0, "999"), src_mac=new))  # time passes: the refused users are settled
        return obs

    options: dict[str, object] = {"window_s": 900.0}
    alerts = feed([InventoryBuilder(), SipReconDetector(options)], observations=walk(310.0))
    assert [(a.id, a.subject, a.evidence["users_probed"]) for a in alerts] == [(EXTENSIONS, f"mac:{new}", 30)]
    alerts = feed([InventoryBuilder(), SipReconDetector(options)], observations=walk(100.0))
    assert [(a.id, a.subject, a.evidence["users_probed"]) for a in alerts] == [(EXTENSIONS, f"mac:{new}", 40)]


def test_a_walk_changing_its_mac_every_five_extensions_is_still_enumeration() -> None:
    """svwar behind macchanger: a new MAC on the address every fifth extension, each a device of its own to the
    inventory; each takes the address over within handover_s of the walk, so it continues it (review R1 of
    de7d481: before, each five extensions were a new holder's series, under min_users, and nothing was raised)."""
    obs = []
    for i in range(40):
        mac = f"02:00:00:00:02:{i // 5:02x}"
        obs += [replace(_request(10.0 + i * 0.05, str(100 + i)), src_mac=mac),
                replace(_answer(10.01 + i * 0.05, str(100 + i), 401), dst_mac=mac)]
    obs.append(replace(_request(60.0, "999"), src_mac="02:00:00:00:02:07"))
    alerts = feed([InventoryBuilder(), SipReconDetector()], observations=obs)
    assert [(a.id, a.subject, a.evidence["users_probed"]) for a in alerts] == [
        (EXTENSIONS, "mac:02:00:00:00:02:07", 40)]


def _sbc_registering(lines: int) -> list[Observation]:
    """An SBC registering its lines: each challenged once and answered with Digest credentials at once (RFC 3261
    §22.2)."""
    obs = []
    for i in range(lines):
        t = 10.0 + i * 0.02
        obs += [_request(t, str(2000 + i)), _answer(t + 0.005, str(2000 + i), 401),
                _request(t + 0.01, str(2000 + i), credentials=True), _answer(t + 0.015, str(2000 + i), 200, True)]
    obs.append(_request(120.0, "2000", credentials=True))
    return obs


@pytest.mark.parametrize("bogus", ["after_the_challenge", "from_the_start"])
def test_a_walk_that_sends_bogus_credentials_is_still_enumeration(bogus: str) -> None:
    """svwar's walk with a made-up Authorization on each user's REGISTER, after its challenge or from the first: the
    server refuses each (401 for a line that exists, 404 for none) and no line is ever registered. Before: a
    request with credentials cleared its user, and a refusal of credentials was never counted, so adding one
    header hid the walk (bruteforce.sip counts per account: one try each is nothing there either)."""
    obs = []
    for i in range(40):
        t, user, status = 10.0 + i * 0.05, str(100 + i), 401 if i % 7 else 404
        if bogus == "after_the_challenge":
            obs += [_request(t, user), _answer(t + 0.01, user, status)]
        obs += [_request(t + 0.02, user, credentials=True), _answer(t + 0.03, user, status, True)]
    obs.append(_request(60.0, "999"))  # time passes: the refused users are settled
    alerts = feed([SipReconDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.dst_ip) for a in alerts] == [(EXTENSIONS, CLIENT, SERVER)]
    assert alerts[0].evidence["users_probed"] >= 20


def test_a_sparse_walk_that_retries_each_unknown_user_with_made_up_credentials_is_still_enumeration() -> None:
    """svwar over a range where one extension in ten exists, each REGISTER sent again with a made-up Authorization
    after its refusal: the server says 404 twice for each user there is not. A 404 to credentials clears a user only
    when the server had challenged it (a phone's BLF subscription past its challenge), not when it had already said
    the user is unknown. Before: the second 404 cleared each unknown user, and the ten refused were under min_users."""
    obs = []
    for i in range(100):
        t, user, status = 10.0 + i * 0.05, str(100 + i), 401 if i % 10 == 0 else 404
        obs += [_request(t, user), _answer(t + 0.01, user, status),
                _request(t + 0.02, user, credentials=True), _answer(t + 0.03, user, status, True)]
    obs.append(_request(60.0, "999"))  # time passes: the refused users are settled
    alerts = feed([SipReconDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.dst_ip) for a in alerts] == [(EXTENSIONS, CLIENT, SERVER)]
    assert alerts[0].evidence["users_probed"] == 100


@pytest.mark.parametrize("status", [400, 405, 420, 483, 488, 500, 501, 505, 513])
def test_a_walk_that_draws_an_error_for_each_user_it_was_refused_is_still_enumeration(status: int) -> None:
    """svwar's walk that, after each user's refusal, sends that user a request the server rejects before any
    authentication (an unknown method: 501, RFC 3261 §8.2.1; Max-Forwards 0: 483, §16.3; a bad request: 400; an
    unsupported SIP version: 505): such an error says nothing of the user, the request got past nothing. Before: any
    answer from 180 up that is no refusal cleared its user, so one extra request per user hid the walk."""
    obs = []
    for i in range(40):
        t, user = 10.0 + i * 0.05, str(100 + i)
        obs += [_request(t, user), _answer(t + 0.01, user, 401 if i % 7 else 404),
                _request(t + 0.02, user, method="XYZZY"), _answer(t + 0.03, user, status)]
    obs.append(_request(60.0, "999"))  # time passes: the refused users are settled
    alerts = feed([SipReconDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.dst_ip) for a in alerts] == [(EXTENSIONS, CLIENT, SERVER)]
    assert alerts[0].evidence["users_probed"] == 40


@pytest.mark.parametrize("status", [180, 183, 200, 202, 302, 480, 486, 487, 503, 600, 603])
def test_an_answer_past_authentication_clears_the_user_it_refused(status: int) -> None:
    """Lines challenged and then registered, routed, redirected, ringing, busy, unavailable or declined: real lines
    and calls, no enumeration."""
    obs = []
    for i in range(40):
        t, user = 10.0 + i * 0.05, str(2000 + i)
        obs += [_request(t, user), _answer(t + 0.005, user, 401),
                _request(t + 0.01, user, credentials=True), _answer(t + 0.015, user, status, True)]
    obs.append(_request(120.0, "2000", credentials=True))
    assert feed([SipReconDetector()], observations=obs) == []


def test_an_sbc_whose_answers_are_accepted_without_credentials_seen_is_no_enumeration() -> None:
    """Zeek's sip.log says nothing of credentials: an SBC's lines challenged (401) and then registered (200) are
    real lines by the acceptance alone; a phone's calls challenged (407) and then routed (180, 486) too."""
    obs = []
    for i in range(300):
        t, user = 10.0 + i * 0.02, str(2000 + i)
        obs += [_answer(t + 0.005, user, 401, None), _answer(t + 0.015, user, 200, None)]
    for i in range(30):
        t, number = 20.0 + i, f"+4420794600{i:02d}"
        obs += [_answer(t, number, 407, None), _answer(t + 0.5, number, 180 if i % 3 else 486, None)]
    obs.append(_request(120.0, "2000"))
    assert feed([SipReconDetector()], observations=obs) == []


def test_a_phones_blf_subscriptions_to_extensions_gone_are_no_enumeration() -> None:
    """A receptionist's phone subscribing to 40 extensions' presence at boot (BLF keys), the PBX challenging each
    SUBSCRIBE and, past authentication, answering 404 for the extensions renumbered away: no credentials refused."""
    obs = []
    for i in range(40):
        t, user = 10.0 + i * 0.05, str(300 + i)
        obs += [_request(t, user, method="SUBSCRIBE"), _answer(t + 0.005, user, 401),
                _request(t + 0.01, user, method="SUBSCRIBE", credentials=True),
                _answer(t + 0.015, user, 404 if i % 2 else 202, True)]
    obs.append(_request(120.0, "300", method="SUBSCRIBE"))
    assert feed([SipReconDetector()], observations=obs) == []


def test_an_sbc_registering_hundreds_of_lines_is_no_enumeration() -> None:
    assert feed([SipReconDetector()], observations=_sbc_registering(300)) == []


def test_an_sbc_in_a_tagged_vlan_registering_hundreds_of_lines_is_no_enumeration() -> None:
    # the same SBC in VLAN 20: a response's pair is keyed within its broadcast domain, and the request answering the
    # challenge must find that pair, or every answered line stays refused and the SBC is an enumerator
    assert feed([SipReconDetector()], observations=[replace(o, vlan=20) for o in _sbc_registering(300)]) == []


def test_one_tool_in_two_vlans_from_the_same_address_is_named_in_each() -> None:
    obs = [replace(_request(10.0 + i, "100", agent="friendly-scanner", method="OPTIONS"), vlan=d,
                   src_mac=f"02:00:00:00:00:{i:02x}") for i, d in enumerate([10, 20])]
    alerts = feed([SipReconDetector()], observations=obs)
    assert sorted(a.subject for a in alerts) == ["mac:02:00:00:00:00:00", "mac:02:00:00:00:00:01"]


def test_a_few_unknown_numbers_are_no_enumeration() -> None:
    obs = []
    for i in range(5):
        number = f"+4420794600{i:02d}"
        obs += [_request(10.0 + i, number, method="INVITE"), _answer(10.5 + i, number, 404)]
    obs.append(_request(100.0, "x"))
    assert feed([SipReconDetector()], observations=obs) == []


def test_a_walk_that_ends_the_input_is_judged_at_its_end_and_dated_by_it() -> None:
    obs = []
    for i in range(25):
        obs += [_request(10.0 + i * 0.05, str(100 + i)), _answer(10.01 + i * 0.05, str(100 + i), 404)]
    alerts = feed([SipReconDetector()], observations=obs)
    assert [a.id for a in alerts] == [EXTENSIONS]
    assert alerts[0].first_seen <= 10.01 + 24 * 0.05 + SipReconDetector.defaults.follow_s  # type: ignore[attr-defined]


def test_real_sipvicious_against_kamailio_is_named_and_the_phones_are_not() -> None:
    # tests/dissect/data/make_sip_capture.py: two baresip phones register and call through Kamailio 5.6,
    # then SIPVicious svmap sweeps (OPTIONS) and svcrack guesses extension 1001's password six times
    from pathlib import Path

    from tests.detect.runner import detect

    capture = Path(__file__).resolve().parents[1] / "dissect" / "data" / "sip_kamailio_baresip.pcap"
    alerts = detect([capture]).alerts
    assert sorted(a.id for a in alerts) == ["detect.bruteforce.sip", TOOL]
    tool = next(a for a in alerts if a.id == TOOL)
    assert tool.evidence["user_agent"] == "friendly-scanner"
    assert {o["fields"]["user_agent"] for o in tool.observations} == {"friendly-scanner"}
