"""SMB1 TransactNmPipe transactions (dissect/smb1trans.py, [MS-CIFS] §2.2.4.33-34, §2.2.5.6): the fields of a
TRANSACTION request, its TRANSACTION_SECONDARY requests and its responses as tests/dissect's SMB1 builder
(iotwarden/lab/smb1wire.py) writes them, and WriteData put together from its pieces in any order. A session reading
them whole is tests/dissect/test_smb1files.py's."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect import smb1, smb1trans
from iotwarden.dissect.smb1fields import HEADER, buffer_at
from iotwarden.errors import ParseError
from iotwarden.lab import smb1wire as m

KEY = (0, 0xFEFF, 100)


def _words(msg: bytes) -> bytes:
    return smb1.block(msg, HEADER)[0]


def test_a_transact_nmpipe_request_its_secondary_and_its_response_read_as_written() -> None:
    request = m.message(m.transact_nmpipe(0x4000, b"abcdef", total=10), mid=30, tid=1)
    fid, total, count, offset = smb1trans.nmpipe(_words(request)) or (0, 0, 0, 0)
    assert (fid, total, count) == (0x4000, 10, 6) and buffer_at(request, offset, count) == b"abcdef"
    piece = m.message(m.transact_secondary(b"ghij", total=10, displacement=6), mid=30, tid=1)
    count, offset, displacement = smb1trans.secondary(_words(piece))
    assert (count, displacement) == (4, 6) and buffer_at(piece, offset, count) == b"ghij"
    answer = m.message(m.transact_response(b"read back"), mid=30, tid=1, response=True)
    length, offset, more = smb1trans.response(_words(answer))
    assert buffer_at(answer, offset, length) == b"read back" and not more
    first = m.message(m.transact_response(b"read", total=9), mid=30, tid=1, response=True)
    last = m.message(m.transact_response(b" back", total=9, displacement=4), mid=30, tid=1, response=True)
    assert smb1trans.response(_words(first))[2] and not smb1trans.response(_words(last))[2]


def test_another_transaction_is_none_and_short_words_a_parse_error() -> None:
    words = bytearray(_words(m.message(m.transact_nmpipe(0x4000, b"x"), mid=30, tid=1)))
    words[28] = 0x23  # Setup[0] TRANS_PEEK_NMPIPE (§2.2.5.5)
    assert smb1trans.nmpipe(bytes(words)) is None and smb1trans.nmpipe(b"\0" * 31) is None
    for read in (smb1trans.secondary, smb1trans.response):
        with pytest.raises(ParseError):
            read(b"\0" * 15)


def test_pieces_in_any_order_make_the_whole_once_every_byte_came() -> None:
    table: dict[Any, smb1trans.Transaction] = {}
    smb1trans.begin(table, KEY, 0x4000, 10)
    assert smb1trans.piece(table, KEY, b"ghij", 6) is None
    assert smb1trans.piece(table, KEY, b"ghij", 6) is None  # sent again: counted once
    assert smb1trans.piece(table, KEY, b"", 0) is None
    assert smb1trans.piece(table, KEY, b"abcdef", 0) == (0x4000, b"abcdefghij")
    assert not table


def test_a_piece_past_the_total_lets_the_transaction_go() -> None:
    table: dict[Any, smb1trans.Transaction] = {}
    smb1trans.begin(table, KEY, 0x4000, 10)
    with pytest.raises(ParseError):
        smb1trans.piece(table, KEY, b"abcdefgh", 4)
    assert not table


def test_transactions_awaited_are_bounded_the_oldest_dropped() -> None:
    table: dict[Any, smb1trans.Transaction] = {}
    for mid in range(smb1trans.MAX_TRANSACTIONS + 1):
        smb1trans.begin(table, (0, 0xFEFF, mid), 0x4000, 10)
    assert len(table) == smb1trans.MAX_TRANSACTIONS and (0, 0xFEFF, 0) not in table
