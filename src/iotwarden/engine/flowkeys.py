"""Flow keys: each packet's canonical bidirectional key (the lower address and port first; VLAN, protocol and the
VXLAN/Geneve virtual networks, ``Headers.vni``) and a batch's packets grouped by it for the flow table
(:mod:`~iotwarden.engine.flowtable`): a 64-bit hash, verified against the exact key, and a stable sort that keeps
each flow's packets in capture order; the exact key as bytes is what the table's index holds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from iotwarden.engine.headers import Headers

I64 = npt.NDArray[np.int64]

# the key's columns; "meta" packs VLAN (12 bits, 802.1Q §9.6) << 40 | protocol (8) << 32 | ports (16 + 16), and the
# virtual networks (two 25-bit fields, decode.VNI_FIELD) have a column of their own: no two keys share a packing
KEY = ("a_hi", "a_lo", "b_hi", "b_lo", "meta", "vni")
_K = tuple(np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                                  0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0x87C37B91114253D5))  # odd 64-bit


def canonical(h: Headers, idx: I64) -> tuple[dict[str, npt.NDArray[np.uint64]], npt.NDArray[np.bool_], I64, I64,
                                               I64, I64]:
    """Packets ``idx``'s flow keys, the lower (address, port) endpoint first: key columns, sent low to high,
    ports of the low and high ends, VLAN, protocol."""
    s_hi, s_lo, d_hi, d_lo = h.src_hi[idx], h.src_lo[idx], h.dst_hi[idx], h.dst_lo[idx]
    sp, dp = h.sport[idx].astype(np.int64), h.dport[idx].astype(np.int64)
    swap = (s_hi > d_hi) | ((s_hi == d_hi) & ((s_lo > d_lo) | ((s_lo == d_lo) & (sp > dp))))
    key = {
        "a_hi": np.where(swap, d_hi, s_hi), "a_lo": np.where(swap, d_lo, s_lo),
        "b_hi": np.where(swap, s_hi, d_hi), "b_lo": np.where(swap, s_lo, d_lo),
    }
    a_port, b_port = np.where(swap, dp, sp), np.where(swap, sp, dp)
    vlan, proto = h.vlan[idx].astype(np.int64), h.proto[idx].astype(np.int64)
    key["meta"] = ((vlan << 40) | (proto << 32) | (a_port << 16) | b_port).astype(np.uint64)
    key["vni"] = h.vni[idx].astype(np.uint64)
    return key, ~swap, a_port, b_port, vlan, proto


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: spreads every input bit over the word."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def group(key: dict[str, npt.NDArray[np.uint64]]) -> tuple[I64, npt.NDArray[np.bool_], dict[str, np.ndarray]]:
    """The order that puts each flow's packets together, in capture order; where each flow starts in that order;
    the key columns in that order."""
    # a cheap multiplicative hash: equal hashes are verified against the exact key below
    mixed = (key["a_hi"] * _K[0] ^ key["a_lo"] * _K[1] ^ key["b_hi"] * _K[2] ^ key["b_lo"] * _K[3]
             ^ key["meta"] * _K[4])
    if key["vni"].any():  # tunnelled: its virtual networks too (0 elsewhere: nothing to mix)
        mixed ^= key["vni"] * _K[5]
    hsh = _mix(mixed)
    order = np.argsort(hsh, kind="stable")  # stable: each flow's packets stay in capture order
    hs = hsh[order]
    gstart = np.empty(order.shape[0], dtype=bool)
    gstart[0] = True
    np.not_equal(hs[1:], hs[:-1], out=gstart[1:])
    ks = {k: key[k][order] for k in KEY}
    differ = np.zeros(order.shape[0], dtype=bool)
    for col in ks.values():
        differ[1:] |= col[1:] != col[:-1]
    if (differ & ~gstart).any():  # two keys share a hash in this batch: group by the exact key
        order = np.lexsort(tuple(key[k] for k in reversed(KEY)))
        ks = {k: key[k][order] for k in KEY}
        gstart = np.zeros(order.shape[0], dtype=bool)
        for col in ks.values():
            gstart[1:] |= col[1:] != col[:-1]
        gstart[0] = True
    return order, gstart, ks


def key_bytes(key: dict[str, np.ndarray]) -> list[bytes]:
    """Each row's exact key (the KEY columns) as bytes: what the flow table's index is keyed by."""
    keymat = np.stack([key[k] for k in KEY], axis=1)
    out: list[bytes] = np.ascontiguousarray(keymat).view(f"V{8 * len(KEY)}").ravel().tolist()
    return out
