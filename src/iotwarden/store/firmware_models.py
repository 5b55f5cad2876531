"""Store tables of the vulnerability database (vulnerabilities, affected ranges, CISA KEV) and the SQL
implementation of :class:`iotwarden.firmware.vulndb.records.VulnRepository` on SQLite and PostgreSQL.

Migration ``0003_firmware`` creates exactly these tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, delete, func, select, tuple_
from sqlalchemy.orm import Mapped, mapped_column

from iotwarden.firmware.vulndb.records import AffectedRange, KevEntry, Vulnerability
from iotwarden.store.db import Store
from iotwarden.store.schema import Base

ID_LEN = 64  # CVE-YYYY-NNNNNNN, GHSA-xxxx-xxxx-xxxx, ALPINE-NNNNN
KEY_LEN = 200  # CPE vendor:product
VERSION_LEN = 100
BATCH = 500  # rows per INSERT/DELETE statement


class VulnRow(Base):
    """What one feed says about one vulnerability."""

    __tablename__ = "fw_vulns"

    vuln_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[str | None] = mapped_column(String(40))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(20))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)


class RangeRow(Base):
    """One affected version range of one product, as one feed states it."""

    __tablename__ = "fw_vuln_ranges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vuln_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    source: Mapped[str] = mapped_column(String(16))
    product_key: Mapped[str] = mapped_column(String(KEY_LEN), index=True)
    exact: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    start_incl: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    start_excl: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    end_incl: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    end_excl: Mapped[str | None] = mapped_column(String(VERSION_LEN))
    note: Mapped[str] = mapped_column(String(200), default="")


class KevRow(Base):
    """One CISA Known Exploited Vulnerabilities entry."""

    __tablename__ = "fw_kev"

    cve_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    date_added: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300), default="")
    ransomware: Mapped[bool] = mapped_column(Boolean, default=False)


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


class SqlVulnRepository:
    """:class:`VulnRepository` on the store; importing a record again replaces that source's rows."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, vulns: Iterable[Vulnerability], ranges: Iterable[AffectedRange]) -> None:
        vs = {(v.id, v.source): v for v in vulns}
        rs = list(ranges)
        keys = list(vs)
        with self.store.transaction() as s:
            for chunk in _chunks(keys):
                s.execute(delete(RangeRow).where(tuple_(RangeRow.vuln_id, RangeRow.source).in_(chunk)))
                s.execute(delete(VulnRow).where(tuple_(VulnRow.vuln_id, VulnRow.source).in_(chunk)))
            s.add_all(
                VulnRow(
                    vuln_id=v.id,
                    source=v.source,
                    summary=v.summary,
                    published=v.published,
                    cvss_score=v.cvss_score,
                    cvss_vector=v.cvss_vector,
                    severity=v.severity,
                    aliases=list(v.aliases),
                )
                for v in vs.values()
            )
            s.add_all(RangeRow(**r.to_dict()) for r in rs)

    def put_kev(self, entries: Iterable[KevEntry]) -> None:
        es = {e.cve_id: e for e in entries}
        with self.store.transaction() as s:
            for chunk in _chunks(list(es)):
                s.execute(delete(KevRow).where(KevRow.cve_id.in_(chunk)))
            s.add_all(KevRow(**e.to_dict()) for e in es.values())

    def ranges_for(self, product_key: str) -> list[AffectedRange]:
        with self.store.session() as s:
            rows = s.scalars(select(RangeRow).where(RangeRow.product_key == product_key)).all()
            return [
                AffectedRange(
                    r.vuln_id,
                    r.source,
                    r.product_key,
                    r.exact,
                    r.start_incl,
                    r.start_excl,
                    r.end_incl,
                    r.end_excl,
                    r.note,
                )
                for r in rows
            ]

    def get(self, ids: Iterable[str]) -> dict[str, list[Vulnerability]]:
        out: dict[str, list[Vulnerability]] = defaultdict(list)
        with self.store.session() as s:
            for chunk in _chunks(sorted(set(ids))):
                for r in s.scalars(select(VulnRow).where(VulnRow.vuln_id.in_(chunk))):
                    out[r.vuln_id].append(
                        Vulnerability(
                            r.vuln_id,
                            r.source,
                            r.summary,
                            r.published,
                            r.cvss_score,
                            r.cvss_vector,
                            r.severity,
                            list(r.aliases or []),
                        )
                    )
        return dict(out)

    def kev(self, ids: Iterable[str]) -> dict[str, KevEntry]:
        out: dict[str, KevEntry] = {}
        with self.store.session() as s:
            for chunk in _chunks(sorted(set(ids))):
                for r in s.scalars(select(KevRow).where(KevRow.cve_id.in_(chunk))):
                    out[r.cve_id] = KevEntry(r.cve_id, r.date_added, r.name, r.ransomware)
        return out

    def stats(self) -> dict[str, int]:
        with self.store.session() as s:
            out = {
                f"vulns.{src}": n for src, n in s.execute(select(VulnRow.source, func.count()).group_by(VulnRow.source))
            }
            out["ranges"] = s.scalar(select(func.count()).select_from(RangeRow)) or 0
            out["kev"] = s.scalar(select(func.count()).select_from(KevRow)) or 0
        return out
