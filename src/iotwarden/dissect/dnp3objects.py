"""DNP3 object headers (IEEE 1815-2012 §4.2.2.7) and the object sizes needed to step over their data.

Only the headers become fields (group, variation, qualifier, range); values are skipped using the
fixed sizes of the object library (IEEE 1815 Annex A) or the size prefix of free-format objects.
"""

from __future__ import annotations

from typing import Any

from iotwarden.errors import ParseError

# octets per object of fixed-size variations (IEEE 1815-2012 Annex A, flags + value [+ time])
OBJECT_OCTETS: dict[tuple[int, int], int] = {
    (1, 2): 1, (2, 1): 1, (2, 2): 7, (2, 3): 3, (3, 2): 1, (4, 1): 1, (4, 2): 7, (4, 3): 3,
    (10, 2): 1, (11, 1): 1, (11, 2): 7, (12, 1): 11, (12, 2): 11, (13, 1): 1, (13, 2): 7,
    (20, 1): 5, (20, 2): 3, (20, 5): 4, (20, 6): 2,
    (21, 1): 5, (21, 2): 3, (21, 5): 11, (21, 6): 9, (21, 9): 4, (21, 10): 2,
    (22, 1): 5, (22, 2): 3, (22, 5): 11, (22, 6): 9, (23, 1): 5, (23, 2): 3, (23, 5): 11, (23, 6): 9,
    (30, 1): 5, (30, 2): 3, (30, 3): 4, (30, 4): 2, (30, 5): 5, (30, 6): 9,
    (32, 1): 5, (32, 2): 3, (32, 3): 11, (32, 4): 9, (32, 5): 5, (32, 6): 9, (32, 7): 11, (32, 8): 15,
    (34, 1): 2, (34, 2): 4, (34, 3): 4,
    (40, 1): 5, (40, 2): 3, (40, 3): 5, (40, 4): 9, (41, 1): 5, (41, 2): 3, (41, 3): 5, (41, 4): 9,
    (42, 1): 5, (42, 2): 3, (42, 3): 11, (42, 4): 9, (42, 5): 5, (42, 6): 9, (42, 7): 11, (42, 8): 15,
    (43, 1): 5, (43, 2): 3, (43, 3): 11, (43, 4): 9, (43, 5): 5, (43, 6): 9, (43, 7): 11, (43, 8): 15,
    (50, 1): 6, (50, 2): 10, (50, 3): 6, (50, 4): 11, (51, 1): 6, (51, 2): 6, (52, 1): 2, (52, 2): 2,
}
# bits per object of packed variations (Annex A: single-bit and double-bit packed formats)
OBJECT_BITS: dict[tuple[int, int], int] = {(1, 1): 1, (3, 1): 2, (10, 1): 1, (12, 3): 1, (80, 1): 1}
# groups whose variation number is the object size in octets (octet strings, virtual terminal)
SIZED_BY_VARIATION = frozenset({110, 111, 112, 113})
RANGE_OCTETS = {0: 1, 1: 2, 2: 4, 3: 1, 4: 2, 5: 4}  # §4.2.2.7.3 start-stop ranges
COUNT_OCTETS = {7: 1, 8: 2, 9: 4, 0xB: 1}  # §4.2.2.7.3 counts (0xB: free format)
PREFIX_OCTETS = {0: 0, 1: 1, 2: 2, 3: 4, 4: 1, 5: 2, 6: 4}  # §4.2.2.7.2 (4-6 give object sizes)


def _uint(buf: bytes, off: int, size: int) -> int:
    if off + size > len(buf):
        raise ParseError("DNP3 object header past the end of the fragment")
    return int.from_bytes(buf[off : off + size], "little")


def parse_objects(body: bytes, objects: list[dict[str, Any]], *, with_data: bool, limit: int) -> bool:
    """Append the object headers of an application fragment body to ``objects``; True if all were read.

    ``with_data`` is False for requests whose objects carry no values (read, freeze, class
    assignment: §4.4); reading stops at ``limit`` headers or at a variation of unknown size.
    """
    off = 0
    while off < len(body):
        if len(objects) >= limit:
            return False
        if off + 3 > len(body):
            raise ParseError("DNP3 object header cut short")
        group, variation, qualifier = body[off], body[off + 1], body[off + 2]
        prefix_code, range_code = (qualifier >> 4) & 0x07, qualifier & 0x0F
        off += 3
        entry: dict[str, Any] = {"group": group, "variation": variation, "qualifier": qualifier,
                                 "prefix_code": prefix_code, "range_code": range_code}
        if range_code in RANGE_OCTETS:
            size = RANGE_OCTETS[range_code]
            start, stop = _uint(body, off, size), _uint(body, off + size, size)
            off += 2 * size
            if stop < start:
                raise ParseError(f"DNP3 range stop {stop} below start {start}")
            entry.update(start=start, stop=stop)
            count = stop - start + 1
        elif range_code in COUNT_OCTETS:
            size = COUNT_OCTETS[range_code]
            count = _uint(body, off, size)
            off += size
            entry["count"] = count
        elif range_code == 6:  # all objects, no range field
            count = 0
        else:
            raise ParseError(f"DNP3 reserved range code {range_code}")
        if prefix_code == 7:
            raise ParseError("DNP3 reserved prefix code 7")
        objects.append(entry)
        skipped = _skip(body, off, group=group, variation=variation, prefix_code=prefix_code, count=count,
                        with_data=with_data)
        if skipped is None:
            return False
        off = skipped
        if off > len(body):
            raise ParseError("DNP3 object data past the end of the fragment")
    return True


def _skip(body: bytes, off: int, *, group: int, variation: int, prefix_code: int, count: int,
          with_data: bool) -> int | None:
    """Offset after the ``count`` objects at ``off``; None when their size is not known."""
    prefix = PREFIX_OCTETS[prefix_code]
    if prefix_code >= 4:  # free format: every object is preceded by its size, even in requests
        for _ in range(count):
            off += prefix + _uint(body, off, prefix)
        return off
    if not with_data or group == 60:  # class objects never carry data
        return off + count * prefix
    if group in SIZED_BY_VARIATION:
        octets = variation
    elif (group, variation) in OBJECT_OCTETS:
        octets = OBJECT_OCTETS[(group, variation)]
    elif (group, variation) in OBJECT_BITS and prefix == 0:
        return off + (count * OBJECT_BITS[(group, variation)] + 7) // 8
    else:
        return None
    return off + count * (prefix + octets)
