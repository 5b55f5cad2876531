"""Store table of the worker's delivery bookkeeping: which JetStream messages are already stored.

A sensor run is one row of ``captures`` (``nats://<site>/<run>``, format ``nats``); each of its messages
leaves a row here in the transaction that stored it, so a message delivered again is recognised and
only acknowledged (services/worker.py). Rows older than the stream's retention can never be delivered
again and are pruned. Migration ``0010_stream_messages`` creates exactly this table.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.store.schema import Base

DIGEST_LEN = 64  # hex SHA-256 of the message id "<site>:<run>:<seq>"


class StreamMessageRow(Base):
    """One stored message: its id's digest, the run's capture row, when it was stored (wall clock)."""

    __tablename__ = "stream_messages"
    __table_args__ = (Index("ix_stream_messages_stored_at", "stored_at"),)

    digest: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    capture_id: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[float] = mapped_column(Float)
