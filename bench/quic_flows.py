"""What QUIC connections cost the engine: udp/443 flows of a client Initial, the server's Initial and then
short-header (1-RTT) packets both ways, run with the default dissectors and with the QUIC dissector left out.

    python bench/quic_flows.py [--flows 2000] [--data 48] [--runs 3]

The QUIC dissector should open the two Initials of each connection and nothing after them (the flow is
finished once both hellos are read), so the rate with it should stay close to the rate without it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the test builders make the Initial packets

from tests.dissect.quicbuild import SERVER_PAYLOAD, client_hello, crypto_frame, initial  # noqa: E402
from tests.services.builders import Frame, udp, write_pcap  # noqa: E402

from iotwarden.dissect import default_dissectors  # noqa: E402
from iotwarden.engine.core import Engine  # noqa: E402
from iotwarden.sources.capfile import read_capture  # noqa: E402


def build(path: Path, flows: int, data: int, seed: int = 7, *, spread: bool = False) -> int:
    """A capture of ``flows`` QUIC connections with ``data`` 1-RTT packets each; its packet count. Each
    connection's packets follow its handshake within 50 ms, or with ``spread`` over the whole capture
    (connections that live long, interleaved as on a real network)."""
    rng = random.Random(seed)
    frames: list[Frame] = []
    t = 1_700_000_000.0
    end = t + 0.05 * flows
    hellos = [crypto_frame(0, client_hello(f"h{i}.example.com", seed=i)) for i in range(16)]
    for n in range(flows):
        dcid, scid, server_cid = rng.randbytes(8), rng.randbytes(8), rng.randbytes(8)
        mac_a, mac_b = "02:00:00:00:00:01", "02:00:00:00:00:02"
        out = (mac_a, mac_b, f"10.0.{n // 250}.{n % 250 + 1}", "142.250.1.1", 40000 + n % 20000, 443)
        back = (mac_b, mac_a, out[3], out[2], 443, out[4])
        frames.append((t, udp(out, initial(hellos[n % 16], dcid=dcid, scid=scid))))
        frames.append((t + 0.01, udp(back, initial(SERVER_PAYLOAD, dcid=scid, scid=server_cid, server=True,
                                                   key_dcid=dcid, pn=1))))
        for i in range(data):
            size = rng.randrange(40, 1200)
            when = rng.uniform(t + 0.02, end) if spread else t + 0.02 + i / 1000
            frames.append((when, udp(back if i % 2 else out, b"\x41" + server_cid + bytes(size))))
        t += 0.05
    write_pcap(path, frames)
    return len(frames)


def measure(path: Path, without_quic: bool) -> tuple[float, int, int]:
    """(CPU seconds, client hellos, packets handed to the QUIC dissector) of one engine run."""
    dissectors = [d for d in default_dissectors() if not (without_quic and d.name == "quic")]
    engine = Engine(dissectors)
    start = time.process_time()
    hellos = 0
    for batch in read_capture(path):
        hellos += sum(o.kind == "client_hello" for o in engine.process(batch).observations)
    hellos += sum(o.kind == "client_hello" for o in engine.flush().observations)
    return time.process_time() - start, hellos, engine.stats.protocols["quic"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=2000)
    ap.add_argument("--data", type=int, default=48, help="1-RTT packets per connection")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spread", action="store_true", help="spread each connection's packets over the capture")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "quic.pcap"
        packets = build(path, args.flows, args.data, spread=args.spread)
        print(f"{args.flows} QUIC connections, {packets} packets{' (spread)' if args.spread else ''}")
        for run in range(args.runs):
            for without in (False, True):
                cpu, hellos, handed = measure(path, without)
                label = "without quic" if without else "with quic   "
                print(f"run {run + 1} {label}: {cpu:6.2f} CPU s, {packets / cpu / 1e3:6.1f} kpkt/s, "
                      f"{hellos} client hellos, {handed} packets handed to quic")


if __name__ == "__main__":
    main()
