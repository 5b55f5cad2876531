"""SMB1 TransactNmPipe transactions ([MS-CIFS] §2.2.4.33, §2.2.4.34, §2.2.5.6): the fields dissect/smb1files.py
reads from a TRANSACTION request that writes a named pipe, from its TRANSACTION_SECONDARY requests and from its
responses, and a transaction's WriteData put together from its pieces. Limit: :data:`MAX_TRANSACTIONS` being
completed per connection, the oldest dropped first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from iotwarden.dissect import dcerpc
from iotwarden.dissect.smb1fields import Key
from iotwarden.errors import ParseError

MAX_TRANSACTIONS = 16  # TransactNmPipe requests per connection whose TRANSACTION_SECONDARY pieces are awaited
TRANS_TRANSACT_NMPIPE = 0x0026  # §2.2.5.6 Setup[0]


@dataclass
class Transaction:
    """A TransactNmPipe request whose WriteData (``total`` bytes) comes in pieces (§2.2.4.34): the pieces as they
    came, by DataDisplacement, put together once every byte is there (what a request announces is not allocated:
    TotalDataCount 65535 costs a hostile client a few bytes)."""

    fid: int
    total: int
    pieces: dict[int, bytes] = field(default_factory=dict)
    received: int = 0


def nmpipe(words: bytes) -> tuple[int, int, int, int] | None:
    """§2.2.4.33.1 of a TRANSACTION request (its parameter words): the FID (Setup[1]), TotalDataCount, DataCount and
    DataOffset of a TransactNmPipe (SetupCount 2, Setup[0] TRANS_TRANSACT_NMPIPE, §2.2.5.6.1); None for another
    transaction."""
    if len(words) < 32 or words[26] != 2 or struct.unpack_from("<H", words, 28)[0] != TRANS_TRANSACT_NMPIPE:
        return None
    count, offset = struct.unpack_from("<HH", words, 22)
    return struct.unpack_from("<H", words, 30)[0], struct.unpack_from("<H", words, 2)[0], count, offset


def secondary(words: bytes) -> tuple[int, int, int]:
    """§2.2.4.34.1 of a TRANSACTION_SECONDARY request: DataCount, DataOffset and DataDisplacement (where in the
    transaction's data its bytes go)."""
    if len(words) < 16:
        raise ParseError("smb1: truncated TRANSACTION_SECONDARY request")
    count, offset, displacement = struct.unpack_from("<HHH", words, 10)
    return count, offset, displacement


def response(words: bytes) -> tuple[int, int, bool]:
    """§2.2.4.33.2 of a TRANSACTION response: DataCount and DataOffset of the ReadData it carries, and whether more of
    it comes in the next response (DataDisplacement + DataCount short of TotalDataCount)."""
    if len(words) < 18:
        raise ParseError("smb1: truncated TRANSACTION response")
    total, (length, offset, displacement) = words[2] | words[3] << 8, struct.unpack_from("<HHH", words, 12)
    return length, offset, displacement + length < total


def begin(table: dict[Key, Transaction], key: Key, fid: int, total: int) -> None:
    """Await the pieces of the transaction ``key`` (its primary request's) writing ``total`` bytes on ``fid``."""
    table[key] = Transaction(fid, total)
    dcerpc.del_oldest(table, MAX_TRANSACTIONS)


def piece(table: dict[Key, Transaction], key: Key, data: bytes, displacement: int) -> tuple[int, bytes] | None:
    """One piece of the transaction ``key``'s WriteData at ``displacement`` (a piece sent again replaces itself); once
    every byte came, the transaction is done: (its FID, the whole data). A piece past TotalDataCount lets it go."""
    transaction = table[key]
    if displacement + len(data) > transaction.total:
        del table[key]
        raise ParseError("smb1: transaction data past its TotalDataCount")
    if data:
        transaction.received += len(data) - len(transaction.pieces.get(displacement, b""))
        transaction.pieces[displacement] = data
    if transaction.received < transaction.total:
        return None
    del table[key]
    whole = bytearray(transaction.total)
    for at, part in transaction.pieces.items():
        whole[at : at + len(part)] = part
    return transaction.fid, bytes(whole)
