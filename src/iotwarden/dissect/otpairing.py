"""Request/answer pairing of the OT stream dissectors (SLMP, Modbus/TCP, EtherNet/IP): each answer with its own
request, in order among the requests of one key, within a bounded table, and not shifted by a lost segment."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Hashable
from typing import Any, NamedTuple

from iotwarden.dissect.base import Packet
from iotwarden.dissect.otstream import ResyncOnGap
from iotwarden.dissect.streambuf import seq_end
from iotwarden.engine.reassembly import seq_delta

STATE_KEY = "pending"  # the flow state's Pending
# a request of a key sent this long or longer after one of its key still awaiting its answer: the client gave up on
# that one (a poller that waits for each answer, past its response timeout: libmodbus 0.5 s, most HMIs 1-3 s), whose
# answer never came; a client that pipelines sends its requests back to back
GAVE_UP_S = 0.25
# the keys of the last requests a new request's key is compared with: a client that sends a key again within them
# reuses keys (one for all, or a few in turn: HMIs keeping a transaction id per polled block); a client counting its
# keys up (Modbus transaction ids, SLMP 4E serials) repeats none within them
RECENT_KEYS = 8


class Waiting(NamedTuple):
    """A request awaiting its answer."""

    key: Hashable
    remembered: Any  # what its answer is paired with
    end: int | None  # the sequence number after the segment that completed it
    seen: int | None  # that segment's Acknowledgment Number: the answers' bytes its sender had
    marked: bool = False  # awaiting its answer when a hole in the answers' direction was told
    sent: float = 0.0  # the time of the segment that completed it
    behind: bool = False  # read after a hole in the requests' direction of a key-reusing client, not yet tied


class Pending:
    """Requests of one connection awaiting their answers, oldest first, at most ``limit``.

    A server answers a client's requests in order, so an answer is paired with the oldest request remembered of its
    key (Modbus transaction id, SLMP 4E serial or None for 3E, EtherNet/IP sender context or sequence count): a
    client that reuses one key (a constant transaction id or sender context, as many HMIs and pollers do) has its
    pipelined requests answered one by one, not the last one's over the first. What else would shift the pairing:

    * a request dropped for room, when another request remembered shares its key: its answer, still to come before
      theirs, is counted (:attr:`forgotten`) and paired with none. Past ``limit`` such keys no answer is paired any
      more (:attr:`unpaired`), so the table stays bounded;
    * a lost request (a hole in the requests' direction): its answer would take the next request of its key. An
      answer is never paired with a request its sender had not received: one that ends past the answer's TCP
      Acknowledgment Number (RFC 9293 §3.4; a request's end is that of the segment that completed it, which the
      server acknowledges whole). From a client that reuses keys (:attr:`repeats`) and sends requests together,
      the hole's answers, of any number, come before those of the requests read after it (:attr:`behind`): an
      answer such a request meets is paired with none and the request forgotten, till one is read that its client
      sent once it had an answer read after the hole (its Acknowledgment Number covers :attr:`hole_answer`), which
      closes the hole;
    * lost answers (a hole in the answers' direction, :meth:`answers_lost`): a request whose answer the hole held
      would take the next answer of its key, and each later request of the key the answer before its own. The
      requests awaiting answers when the hole is told are marked, the counted ones forgotten. At the first answer
      after the hole, a marked request whose segment acknowledged the answers' bytes up to where the hole ended
      is unmarked (sent once its client had the hole's bytes, its answer comes after them: the engine may tell the
      hole only when that segment acknowledges past it), and marked requests that share a key are forgotten (how
      many of their answers the hole held is unknown). One alone of its key stays, and is forgotten once a request of
      its key sent after the hole awaits an answer of the key (a client that waits for each answer before it sends
      the next request had its answer in the hole), or once an answer of its key acknowledges requests' bytes never
      read, from a client that reuses keys (:attr:`repeats`: requests the capture lost, sent after the hole's answer,
      may be of its key); else its answer is still paired with it. A hole the engine
      cannot tell (the answers' direction lost before its first segment seen) is found the same way: a request
      whose segment acknowledges answers' bytes past those read (:meth:`delivered`) marks the requests before it;
    * a request never answered (a server that drops it; one key is a client's that waits for each answer, since
      it could not tell pipelined answers apart itself): its key's next answer would take it, and every later one
      the request before its own. A request sent :data:`GAVE_UP_S` or more after one of its key still waiting
      forgets that one: its client gave up on it;
    * an answer recorded before its request (a SPAN port merging the directions out of order): no request of its key
      waits, and its request, read next, would wait for the next answer of the key. An answer that acknowledges
      requests' bytes not read yet, paired with none, answers the next request read of its key that ends within
      them (:attr:`ahead`): that one awaits nothing.
    """

    __slots__ = ("ahead", "answered", "asked", "behind", "forgotten", "hole", "hole_answer", "limit", "recent",
                 "repeats", "requests", "requests_to_server", "resumed", "unpaired")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.requests: deque[Waiting] = deque()
        self.forgotten: dict[Hashable, int] = {}  # key -> answers to pair with none
        self.unpaired = False
        self.requests_to_server: bool | None = None  # the direction requests go, once one was seen
        self.hole = False  # a hole in the answers' direction was told since the last answer
        self.resumed: int | None = None  # where the answers' direction's first delivery since that hole began
        # the sequence number after the answers' bytes read (from a first request's acknowledgment until one is read)
        self.answered: int | None = None
        self.asked: int | None = None  # the sequence number after the requests' direction's bytes read
        self.recent: deque[Hashable] = deque(maxlen=RECENT_KEYS)  # the keys of the last requests read
        self.repeats = False  # a request was sent with the key of one of the RECENT_KEYS before it
        # an answer read before its request (a capture that reordered the two): its key and Acknowledgment Number
        self.ahead: tuple[Hashable, int] | None = None
        self.behind = False  # a hole in the requests' direction of a key-reusing client is open (requests_lost)
        self.hole_answer: int | None = None  # the server's sequence number after the first answer read since it

    def __len__(self) -> int:
        return len(self.requests)

    def __contains__(self, key: object) -> bool:
        return any(w.key == key for w in self.requests)

    def request(self, pkt: Packet, key: Hashable, remembered: Any) -> None:
        """Remember ``remembered`` for the answer of ``pkt``'s request of ``key``."""
        self.requests_to_server = pkt.to_server
        seen = pkt.tcp_ack
        if seen is not None and (self.answered is None or seq_delta(seen, self.answered) > 0):
            if self.answered is not None and self.requests:  # its client had answers the capture did not show
                self.answers_lost()
            self.answered = seen
        self.repeats = self.repeats or key in self.recent
        self.recent.append(key)
        self.asked = end = seq_end(pkt)
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead[0] == key and end is not None and seq_delta(end, ahead[1]) <= 0:
            return  # the answer read before it, which acknowledged it, was its own: nothing to await
        requests, ts = self.requests, pkt.ts
        if requests and any(w.key == key and ts - w.sent >= GAVE_UP_S for w in requests):
            requests = self.requests = deque(w for w in requests if w.key != key or ts - w.sent < GAVE_UP_S)
        if len(requests) >= self.limit:
            self._forget()
        self.requests.append(Waiting(key, remembered, end, seen, sent=ts, behind=self.behind))

    def delivered(self, pkt: Packet) -> None:
        """``pkt``'s bytes were read: in the answers' direction, the answers' bytes read reach its end."""
        end = seq_end(pkt)
        if end is not None and self.requests_to_server is not None:
            if pkt.to_server is self.requests_to_server:
                self.asked = end
            else:
                self.answered = end
                if self.hole and self.resumed is None:
                    self.resumed = pkt.tcp_seq

    def answer(self, pkt: Packet, key: Hashable, size: int) -> Any | None:
        """What was remembered of the request that ``pkt``'s answer of ``key`` (``size`` bytes, ending in ``pkt``)
        answers, None when it is not known."""
        if self.hole:
            self._after_hole(pkt)
        if self.unpaired:
            return None
        if key in self.forgotten:
            self.forgotten[key] -= 1
            if not self.forgotten[key]:
                del self.forgotten[key]
            return None
        requests = self.requests
        if requests and requests[0].key == key and not requests[0].marked:  # the usual case: the oldest, in order
            mine = [0]
        else:
            mine = [i for i, w in enumerate(requests) if w.key == key]
        if not mine:
            if self.behind and self.hole_answer is None:
                self.hole_answer = seq_end(pkt)
            if pkt.tcp_ack is not None and self.asked is not None and seq_delta(pkt.tcp_ack, self.asked) > 0:
                self.ahead = (key, pkt.tcp_ack)  # it acknowledges requests' bytes not read yet: its request's?
            return None
        if requests[mine[0]].marked and not requests[mine[-1]].marked:  # its key sent again after the hole
            self.requests = deque(w for w in self.requests if w.key != key or not w.marked)
            mine = [i for i, w in enumerate(self.requests) if w.key == key]
        waiting = self.requests[mine[0]]
        if waiting.marked and self.repeats and pkt.tcp_ack is not None and self.asked is not None \
                and seq_delta(pkt.tcp_ack, self.asked) > 0:  # the server had requests the capture lost
            del self.requests[mine[0]]  # sent after the hole's answer to this one, of its key: the answer may be one's
            return None
        if waiting.behind:
            if waiting.seen is None or (self.hole_answer is not None  # no ACKs: paired as before
                                        and seq_delta(waiting.seen, self.hole_answer) >= 0):
                self.behind, self.hole_answer = False, None  # sent once its client had an answer after the hole
                self.requests = deque(w._replace(behind=False) for w in self.requests)
                waiting = self.requests[mine[0]]
            else:  # the answer may be a lost request's, of its key: which is not known
                if self.hole_answer is None:
                    self.hole_answer = seq_end(pkt)
                del self.requests[mine[0]]
                return None
        if pkt.tcp_ack is not None and waiting.end is not None and seq_delta(waiting.end, pkt.tcp_ack) > 0:
            return None  # the server had not received it: the answer is a lost request's
        del self.requests[mine[0]]
        return waiting.remembered

    def requests_lost(self) -> None:
        """Bytes of the requests' direction were lost: from a client that reuses keys, the requests read next are
        behind the hole, whose requests' answers, of any number, come first (class docstring)."""
        if self.repeats:
            self.behind = True
            self.hole_answer = self.answered if self.ahead is not None else None

    def answers_lost(self) -> None:
        """Bytes of the answers' direction were lost: mark the requests awaiting answers, forget the counted ones
        (class docstring)."""
        self.requests = deque(w._replace(marked=True) for w in self.requests)
        self.forgotten.clear()
        self.hole = True
        self.resumed = None

    def _after_hole(self, pkt: Packet) -> None:
        """The first answer after a hole, ending in ``pkt``, begins where the hole ended or later: unmark the
        requests sent once their client had the bytes up to where the hole ended (the start of the direction's first
        delivery since, :attr:`resumed`, else ``pkt``'s), forget the marked ones that share a key (class
        docstring)."""
        self.hole = False
        # where the hole ended, not where the answer begins: answers that pkt holds after this one (a segment of
        # several) put its start before end - size, and a request sent once its client had the hole's bytes awaits no
        # answer of the hole whichever answer comes first
        begins = self.resumed if self.resumed is not None else pkt.tcp_seq
        self.resumed = None
        unmarked = [w._replace(marked=False) if w.marked and begins is not None and w.seen is not None
                    and seq_delta(w.seen, begins) >= 0 else w for w in self.requests]
        keys = Counter(w.key for w in unmarked if w.marked)
        self.requests = deque(w for w in unmarked if not w.marked or keys[w.key] == 1)

    def _forget(self) -> None:
        key = self.requests.popleft().key
        if self.unpaired or key not in self:
            return  # a key of its own (a counted-up serial or transaction id): its answer finds no request
        if key not in self.forgotten and len(self.forgotten) >= self.limit:
            self.unpaired = True
            self.forgotten.clear()
            return
        self.forgotten[key] = self.forgotten.get(key, 0) + 1


def pending(state: dict[str, Any], limit: int) -> Pending:
    """The flow's :class:`Pending` (made on first use)."""
    table = state.get(STATE_KEY)
    if not isinstance(table, Pending):
        table = state[STATE_KEY] = Pending(limit)
    return table


class PairedResyncOnGap(ResyncOnGap):
    """:class:`ResyncOnGap` for a dissector that pairs answers with requests in ``state[STATE_KEY]``: a hole in the
    answers' direction also tells the requests awaiting answers (:meth:`Pending.answers_lost`)."""

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        super().gap(state, to_server)
        table = state.get(STATE_KEY)
        if isinstance(table, Pending) and table.requests_to_server is not None:
            if table.requests_to_server is not to_server:
                table.answers_lost()
            else:
                table.requests_lost()
