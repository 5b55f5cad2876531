"""SIP reconnaissance: scanning tools by their User-Agent, and extension (account) enumeration.

Ids:

* ``detect.scan.sip_tool`` (ATT&CK T1046 Network Service Discovery): a SIP request whose User-Agent
  (RFC 3261 §20.41) names a SIP scanning or password-guessing tool. The tools' defaults: SIPVicious
  OSS sends ``friendly-scanner`` (``makeRequest(useragent='friendly-scanner')`` in
  sipvicious/libs/svhelper.py, used by svmap, svwar and svcrack), Pepelux's sippts ``pplsip`` (its
  modules' ``self.user_agent``) and its older Perl scripts ``sipptk`` (trunk/sipscan.pl), sipcli
  ``sipcli/v1.8``; ``sipvicious``, ``sundayddr``, ``iWar``, ``sip-scan`` and ``VaxSIPUserAgent`` are
  the other scanner names VoIP hardening guides drop with iptables string matches. A tool's name is
  matched as a word, case-insensitively; a changed User-Agent is left to the enumeration test and to
  the brute-force detector.
* ``detect.scan.sip_extensions`` (T1087 Account Discovery): one client asking one server about many
  different users (the To URI's user part, §20.39) and walking away: svwar sends a REGISTER (or
  INVITE/OPTIONS) per extension of a range and reads the answer (404 for no such user, 401/407 for
  one that exists, §21.4.5, §22), never authenticating. A user counts as *probed* when a request
  for it was refused (401, 403, 404, 407, 484; not a Digest challenge of a stale nonce, RFC 7616
  §3.3) and no request for that user was accepted within ``follow_s`` (an answer only a request
  past authentication gets, :data:`ACCEPTED_FINAL` and 180-399: registered, or a call routed,
  ringing, busy or declined; not an error a server gives before authenticating, which a walk can
  draw for each user at will: 400, 405, 483, 501, ...; or a 404/484 to a
  request with credentials, which refuses no credentials: a phone's call to a wrong number, its
  BLF subscription to an extension gone; it clears a user the server had challenged, not one it had
  already called unknown (``_Pair.unknown``), which a sparse walk retries with made-up credentials
  to hide its 404s): a phone or an SBC answers every Digest challenge at once
  (§22.2) and is registered, so registering hundreds of real lines never counts. A refusal of
  credentials (401, 403, 407 to a request that carried them) counts as any other: a walk that adds
  a made-up Authorization to each REGISTER is refused all the same for each line there is (and
  bruteforce.sip, counting per account, sees one try of each). ``min_users`` probed users of one
  server within ``window_s`` raise it.

Both read the SIP dissector's ``request`` and ``response`` observations (dissect/sip.py): ``user_agent``,
``to`` on requests, ``status``, ``to``, ``credentials_sent`` and ``auth_stale`` on responses (a Zeek sip.log's,
which says nothing of credentials, too).

A pair's enumeration series is one device's (detect/base.same_holder): a lease that moves to another device after
``handover_s`` of the series' silence starts the new holder's own; a device taking the address over sooner continues
it, so a walk changing its MAC every few extensions is one series.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import ClassVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    ENTRIES,
    HANDOVER_S,
    SECONDS,
    Detector,
    Options,
    Range,
    number,
    same_holder,
    site_host,
    subject_key,
    text,
)
from iotwarden.hooks import Context
from iotwarden.model import Observation

TOOL, EXTENSIONS = "detect.scan.sip_tool", "detect.scan.sip_extensions"
TOOLS = re.compile(r"(?<![\w-])(friendly-scanner|pplsip|sipptk|sipcli|sipvicious|sundayddr|iwar|sip-scan|"
                   r"vaxsipuseragent)(?![\w-])", re.IGNORECASE)
# RFC 3261 §21.4: Unauthorized, Forbidden, Not Found, Proxy Authentication Required, Address Incomplete
REFUSED = frozenset({401, 403, 404, 407, 484})
# answers a request gets only past authentication (§21): ringing or progress (180-199), success, a redirect (a call
# routed), and a callee's or the route's refusal to talk (480 Temporarily Unavailable, 486 Busy Here, 487 Request
# Terminated, 503/504, 600 Busy Everywhere, 603 Decline). Not the errors a server gives before it authenticates
# anything (400, 405, 420, 483, 488, 500, 501, 505, 513: a bad request, an unknown method, Max-Forwards 0, ...): a walk
# draws one for each user it was refused at will, and they say nothing of the user
ACCEPTED_FINAL = frozenset({480, 486, 487, 503, 504, 600, 603})
# Not Found, Address Incomplete to a request with credentials: no credentials refused (a phone's call to a wrong
# number, its BLF subscription to an extension gone); a walk's made-up credentials get 401/403/407 for a line there is
UNKNOWN_TARGET = frozenset({404, 484})


@dataclass(frozen=True)
class SipReconOptions(Options):
    window_s: float = 300.0  # probed users counted within this long
    follow_s: float = 10.0  # a refused user whose request is accepted within this long was a real client's
    min_users: int = 20  # distinct users probed on one server: enumeration
    realert_s: float = 1800.0  # one tool alert per source and tool within this long: under the pipeline's
    # aggregation window (WINDOW_S, an hour), so a tool that goes on scanning stays one alert whose count grows
    max_pairs: int = 10_000  # (client, server) pairs tracked (LRU)
    max_users: int = 4096  # users remembered per pair
    handover_s: float = HANDOVER_S  # another device on the address this soon after a pair's series continues it
    bounds: ClassVar[dict[str, Range]] = {"window_s": SECONDS, "follow_s": DURATION, "min_users": COUNT,
                                          "realert_s": DURATION, "max_pairs": ENTRIES, "max_users": ENTRIES,
                                          "handover_s": DURATION}


@dataclass(slots=True)
class _Pair:
    refused: OrderedDict[str, float] = field(default_factory=OrderedDict)  # user -> refused at, awaiting acceptance
    unknown: set[str] = field(default_factory=set)  # users of ``refused`` refused as unknown (404/484), not challenged
    probed: deque[tuple[float, str]] = field(default_factory=deque)  # (time, user) walked away from
    evidence: list[Observation] = field(default_factory=list)
    subject: str = ""
    last: float = -math.inf  # the series' latest refusal (detect/base.same_holder's handover)


class SipReconDetector(Detector):
    observes = frozenset({"sip"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.sip_recon"
    ids: ClassVar[tuple[str, ...]] = (TOOL, EXTENSIONS)
    defaults: ClassVar[Options] = SipReconOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()
        # (source, tool) -> (alerted at, the device alerted on): a new lease holder's tool is its own (same_holder)
        self._tool_alerted: dict[tuple[str, str], tuple[float, str]] = {}

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "sip":
            return
        f = obs.fields
        if obs.kind == "request" and obs.src_ip and obs.dst_ip:
            self._tool(ctx, obs)
            key = (site_host(obs.src_ip, obs.domain), site_host(obs.dst_ip, obs.domain))  # as _refused keys it
            pair = self._pairs.get(key)
            if pair is not None:
                self._settle(ctx, key, pair, obs.ts)
        elif obs.kind == "response" and obs.src_ip and obs.dst_ip:
            user, status = _user(f.get("to")), number(f.get("status"))
            if not user or status is None:
                return
            passed = f.get("credentials_sent") is True and status in UNKNOWN_TARGET
            if status in REFUSED and not passed:
                if f.get("auth_stale") is not True:  # a stale nonce's challenge refuses no credentials
                    self._refused(ctx, obs, user, status)
            elif passed or 180 <= status < 400 or status in ACCEPTED_FINAL:  # past authentication: a real line or call
                key = (site_host(obs.dst_ip, obs.domain), site_host(obs.src_ip, obs.domain))  # as _refused keys it
                pair = self._pairs.get(key)
                # a 404/484 to credentials clears only a challenged user: one the server had said is unknown stays
                if pair is not None and not (passed and user in pair.unknown):
                    pair.refused.pop(user, None)
                    pair.unknown.discard(user)

    def on_tick(self, ctx: Context, ts: float) -> None:
        super().on_tick(ctx, ts)
        for key, pair in list(self._pairs.items()):
            self._settle(ctx, key, pair, ts)
            if not pair.refused and not pair.probed:
                del self._pairs[key]

    def done(self, ctx: Context) -> None:
        super().done(ctx)
        for key, pair in list(self._pairs.items()):  # the input ended: no follow-up can come any more
            self._settle(ctx, key, pair, ctx.now + self.options.follow_s)

    def _tool(self, ctx: Context, obs: Observation) -> None:
        agent = text(obs.fields.get("user_agent"))
        match = TOOLS.search(agent) if agent else None
        if match is None:
            return
        tool = match.group(1).lower()
        subject = subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts)
        client = site_host(obs.src_ip or "", obs.domain)  # two VLANs' 10.0.0.5 are two clients
        last = self._tool_alerted.get((client, tool))
        if last is not None and obs.ts - last[0] < self.options.realert_s and same_holder(ctx, last[1], subject):
            return
        if len(self._tool_alerted) >= self.options.max_pairs:
            self._tool_alerted.clear()
        self._tool_alerted[(client, tool)] = (obs.ts, subject)
        self.raise_alert(
            ctx, TOOL, title=f"SIP scanning tool ({tool}) from {obs.src_ip} against {obs.dst_ip}", severity="high",
            subject=subject, ts=obs.ts, key=tool,
            mitre=("T1046",), src_ip=obs.src_ip, dst_ip=obs.dst_ip,
            evidence={"user_agent": agent, "tool": tool, "method": obs.fields.get("method")}, observations=[obs])

    def _refused(self, ctx: Context, obs: Observation, user: str, status: int) -> None:
        o: SipReconOptions = self.options
        domain = obs.domain  # (client, server) within their broadcast domain: two VLANs' 10.0.0.5 are two clients
        key = (site_host(obs.dst_ip or "", domain), site_host(obs.src_ip or "", domain))  # the response goes back
        subject = subject_key(ctx, obs.dst_mac, obs.dst_ip, domain, obs.ts)
        pair = self._pairs.get(key)
        if pair is None or not same_holder(ctx, pair.subject, subject, obs.ts - pair.last, o.handover_s):
            pair = self._pairs[key] = _Pair(subject=subject)
            if len(self._pairs) > o.max_pairs:
                self._pairs.popitem(last=False)
        pair.subject, pair.last = subject, obs.ts  # one device's series, or its handover's (same_holder)
        self._pairs.move_to_end(key)
        if user not in pair.refused and len(pair.refused) < o.max_users:
            pair.refused[user] = obs.ts
            if status in UNKNOWN_TARGET:
                pair.unknown.add(user)
        if len(pair.evidence) < 6:
            pair.evidence.append(obs)
        self._settle(ctx, key, pair, obs.ts)

    def _settle(self, ctx: Context, key: tuple[str, str], pair: _Pair, now: float) -> None:
        """Users refused longer than ``follow_s`` ago with no request accepted since become probed; enough
        distinct probed users within the window raise enumeration."""
        o: SipReconOptions = self.options
        while pair.refused:
            user, ts = next(iter(pair.refused.items()))
            if now - ts < o.follow_s:
                break
            del pair.refused[user]
            pair.unknown.discard(user)
            pair.probed.append((ts, user))
            if len(pair.probed) > o.max_users:
                pair.probed.popleft()
        while pair.probed and now - pair.probed[0][0] > o.window_s:
            pair.probed.popleft()
        users = {u for _, u in pair.probed}
        if len(users) < o.min_users:
            return
        client, server = (host.partition("%")[0] for host in key)  # the addresses of the zoned key
        # dated when the last user counted was walked away from, however late the judgement came (ticks,
        # the pair's next message or the end of input)
        when = min(now, pair.probed[-1][0] + o.follow_s)
        self.raise_alert(
            ctx, EXTENSIONS, title=f"SIP extension enumeration from {client} against {server}", severity="high",
            subject=pair.subject, ts=when, key=server, mitre=("T1087",), src_ip=client, dst_ip=server,
            evidence={"users_probed": len(users), "examples": sorted(users)[:10]}, observations=pair.evidence)
        pair.probed.clear()
        pair.evidence = []


def _user(value: object) -> str | None:
    """The user part of a ``user@host`` the dissector keeps (a tel: URI is kept as its number)."""
    if not isinstance(value, str) or not value:
        return None
    user = value.split("@", 1)[0] if "@" in value else value
    return user or None
