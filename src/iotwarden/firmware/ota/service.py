"""The OTA campaign service: signed releases, managed devices, campaigns that roll a release out in
stages behind health gates, device check-ins (checked against the golden-hash registry) and rollback
to the previous image, re-signed with a newer sequence number so devices' anti-rollback accepts it.
The CLI (and any API) is a thin shell over this class."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from iotwarden.errors import FirmwareError, ParseError
from iotwarden.firmware.ota import rollout
from iotwarden.firmware.signing import suit
from iotwarden.firmware.signing.cose import PrivateKey
from iotwarden.firmware.signing.golden import GoldenRegistry, normalise_sha256
from iotwarden.firmware.signing.keys import key_id
from iotwarden.store.db import Store
from iotwarden.store.firmware_ota_models import (
    CampaignRow,
    CampaignTargetRow,
    CheckinRow,
    ManagedDeviceRow,
    ReleaseRow,
)

MAX_DETAIL_CHARS = 500  # of a device-supplied check-in detail


@dataclass(frozen=True, slots=True)
class Offer:
    """What a device is told to install: the release's envelope and where the image is served."""

    campaign: str
    release_id: int
    version: str
    sequence: int
    uri: str
    envelope: bytes
    revert: bool = False


class CampaignService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.golden = GoldenRegistry(store)

    # --- releases and devices
    def add_release(self, envelope: bytes, uri: str) -> int:
        """Register a signed release (its envelope decoded for model, version, digest) and its image
        digest as a golden hash. The signature is checked by devices, which hold the trusted keys."""
        try:
            man = suit.decode_envelope(envelope).manifest
        except ParseError as exc:
            raise FirmwareError(f"release envelope: {exc}") from None
        if not man.model or not man.version or not man.vendor:
            raise FirmwareError("release envelope lacks vendor, model or version text (suit-text)")
        with self.store.transaction() as s:
            if s.scalar(
                select(ReleaseRow.id).where(ReleaseRow.model == man.model, ReleaseRow.sequence == man.sequence)
            ):
                raise FirmwareError(f"{man.model} already has a release with sequence number {man.sequence}")
            row = ReleaseRow(
                vendor=man.vendor,
                model=man.model,
                version=man.version,
                sequence=man.sequence,
                sha256=man.digest.hex(),
                size=man.size,
                uri=uri,
                envelope=envelope,
                added=time.time(),
            )
            s.add(row)
            s.flush()
            rid = row.id
        self.golden.add(man.model, man.version, man.digest.hex(), size=man.size, source=f"signed release {rid}")
        return rid

    def enroll(self, device_key: str, model: str, version: str, *, zone: str | None = None) -> None:
        """Put a device under firmware management (or update what it is known to run)."""
        with self.store.transaction() as s:
            row = s.get(ManagedDeviceRow, device_key)
            if row is None:
                s.add(ManagedDeviceRow(device_key=device_key, model=model, version=version, zone=zone))
            else:
                row.model, row.version, row.zone = model, version, zone

    # --- campaigns
    def create(
        self,
        name: str,
        release_id: int,
        *,
        from_version: str | None = None,
        zone: str | None = None,
        stages: list[int] | tuple[int, ...] = rollout.DEFAULT_STAGES,
        max_failure_rate: float = rollout.DEFAULT_MAX_FAILURE_RATE,
        min_reports: float = rollout.DEFAULT_MIN_REPORTS,
    ) -> dict[str, Any]:
        """A draft campaign of ``release_id`` to the managed devices of its model (optionally only those
        on ``from_version`` and in ``zone``) that do not run it already."""
        stages = rollout.validate_stages(stages)
        if not 0 <= max_failure_rate <= 1 or not 0 <= min_reports <= 1:
            raise FirmwareError("max failure rate and min reports are fractions in 0..1")
        now = time.time()
        with self.store.transaction() as s:
            rel = s.get(ReleaseRow, release_id)
            if rel is None:
                raise FirmwareError(f"no release {release_id}")
            if s.scalar(select(CampaignRow.id).where(CampaignRow.name == name)):
                raise FirmwareError(f"campaign {name!r} exists")
            q = select(ManagedDeviceRow).where(
                ManagedDeviceRow.model == rel.model, ManagedDeviceRow.version != rel.version
            )
            if from_version:
                q = q.where(ManagedDeviceRow.version == from_version)
            if zone:
                q = q.where(ManagedDeviceRow.zone == zone)
            devices = s.scalars(q.order_by(ManagedDeviceRow.device_key).limit(rollout.MAX_TARGETS + 1)).all()
            if len(devices) > rollout.MAX_TARGETS:
                raise FirmwareError(f"more than {rollout.MAX_TARGETS} targets: narrow by version or zone")
            camp = CampaignRow(
                name=name,
                release_id=rel.id,
                model=rel.model,
                from_version=from_version,
                zone=zone,
                stages=stages,
                stage=-1,
                max_failure_rate=max_failure_rate,
                min_reports=min_reports,
                state="draft",
                reason="",
                created=now,
                updated=now,
            )
            s.add(camp)
            s.flush()
            for dev in devices:
                prev = s.scalar(
                    select(ReleaseRow.id)
                    .where(ReleaseRow.model == dev.model, ReleaseRow.version == dev.version)
                    .order_by(ReleaseRow.sequence.desc())
                )
                s.add(
                    CampaignTargetRow(
                        campaign_id=camp.id,
                        device_key=dev.device_key,
                        stage=None,
                        previous_release_id=prev,
                        status="pending",
                        detail="",
                        updated=now,
                    )
                )
        return self.status(name)

    def start(self, name: str) -> dict[str, Any]:
        with self.store.transaction() as s:
            camp = self._campaign(s, name)
            if camp.state != "draft":
                raise FirmwareError(f"campaign {name!r} is {camp.state}, not draft")
            camp.state = "running"
            self._enter_stage(s, camp, 0)
        return self.status(name)

    def advance(self, name: str) -> dict[str, Any]:
        """Open the next stage when the current one passes its health gate; a stage whose failure rate
        is over the limit pauses the campaign (the operator then rolls back or resumes)."""
        with self.store.transaction() as s:
            camp = self._campaign(s, name)
            if camp.state not in ("running", "paused"):
                raise FirmwareError(f"campaign {name!r} is {camp.state}: nothing to advance")
            result = self._gate(s, camp)
            if not result.open:
                if result.failed and result.failure_rate > camp.max_failure_rate:
                    camp.state, camp.reason = "paused", f"health gate closed at stage {camp.stage}: {result.reason}"
            elif camp.stage + 1 < len(camp.stages):
                camp.state, camp.reason = "running", ""
                self._enter_stage(s, camp, camp.stage + 1)
            else:
                camp.state, camp.reason = "completed", result.reason
            camp.updated = time.time()
        return self.status(name)

    def rollback(self, name: str, key: PrivateKey) -> dict[str, Any]:
        """Stop the campaign and send every target that was offered the update back to the image it ran
        before, re-signed with ``key`` under the next sequence number of the model (anti-rollback
        would refuse the old envelope)."""
        with self.store.transaction() as s:
            camp = self._campaign(s, name)
            if camp.state in ("draft", "rolled_back"):
                raise FirmwareError(f"campaign {name!r} is {camp.state}: nothing to roll back")
            top = s.scalar(select(func.max(ReleaseRow.sequence)).where(ReleaseRow.model == camp.model)) or 0
            resigned: dict[int, int] = {}
            for tgt in s.scalars(select(CampaignTargetRow).where(CampaignTargetRow.campaign_id == camp.id)):
                if tgt.status == "pending":
                    tgt.status = "cancelled"
                elif tgt.previous_release_id is None:
                    tgt.detail = "no signed release of the previous version is registered: cannot revert"
                else:
                    if tgt.previous_release_id not in resigned:
                        top += 1
                        resigned[tgt.previous_release_id] = self._resign(s, tgt.previous_release_id, top, key)
                    tgt.status, tgt.previous_release_id = "revert", resigned[tgt.previous_release_id]
                tgt.updated = time.time()
            camp.state, camp.reason = "rolled_back", "rolled back by the operator"
        return self.status(name)

    def offer(self, device_key: str) -> Offer | None:
        """The update the device should install now, if any (marks it offered)."""
        with self.store.transaction() as s:
            rows = s.execute(
                select(CampaignTargetRow, CampaignRow)
                .join(CampaignRow, CampaignRow.id == CampaignTargetRow.campaign_id)
                .where(CampaignTargetRow.device_key == device_key)
                .order_by(CampaignRow.id.desc())
            ).all()
            for tgt, camp in rows:
                if tgt.status == "revert" and tgt.previous_release_id is not None:
                    return self._offer(s, camp, tgt.previous_release_id, revert=True)
                if camp.state == "running" and tgt.stage is not None and tgt.status == "pending":
                    tgt.status, tgt.updated = "offered", time.time()
                if camp.state == "running" and tgt.status == "offered":
                    return self._offer(s, camp, camp.release_id, revert=False)
        return None

    def checkin(
        self,
        device_key: str,
        event: str,
        *,
        sha256: str | None = None,
        version: str | None = None,
        sequence: int | None = None,
        detail: str = "",
    ) -> dict[str, Any]:
        """Record a device report; the reported image hash is checked against the golden registry."""
        digest = normalise_sha256(sha256) if sha256 else None
        golden = None
        with self.store.transaction() as s:
            dev = s.get(ManagedDeviceRow, device_key)
            if dev is None:
                raise FirmwareError(f"device {device_key!r} is not under firmware management")
            if digest and (version or dev.version):
                golden = self.golden.check(dev.model, version or dev.version, digest).status
            tgt = s.scalars(
                select(CampaignTargetRow)
                .join(CampaignRow, CampaignRow.id == CampaignTargetRow.campaign_id)
                .where(CampaignTargetRow.device_key == device_key, CampaignTargetRow.stage.is_not(None))
                .order_by(CampaignRow.id.desc())
            ).first()
            if tgt is not None and tgt.status != "cancelled":
                tgt.status = rollout.next_status(tgt.status, event)
                tgt.reported_sha256 = digest or tgt.reported_sha256
                tgt.detail, tgt.updated = detail[:MAX_DETAIL_CHARS], time.time()
            else:
                rollout.next_status("pending", event)  # validates the event name
            if event in ("healthy", "reverted") and version:
                dev.version, dev.sequence, dev.sha256 = version, sequence, digest
            dev.last_checkin = time.time()
            s.add(
                CheckinRow(
                    campaign_id=tgt.campaign_id if tgt is not None else None,
                    device_key=device_key,
                    ts=time.time(),
                    event=event,
                    version=version,
                    reported_sha256=digest,
                    golden=golden,
                    detail=detail[:MAX_DETAIL_CHARS],
                )
            )
        return {"device": device_key, "event": event, "golden": golden}

    def status(self, name: str) -> dict[str, Any]:
        with self.store.session() as s:
            camp = self._campaign(s, name)
            targets = s.scalars(select(CampaignTargetRow).where(CampaignTargetRow.campaign_id == camp.id)).all()
            counts: dict[str, int] = {}
            for t in targets:
                counts[t.status] = counts.get(t.status, 0) + 1
            rel = s.get(ReleaseRow, camp.release_id)
            return {
                "name": camp.name,
                "state": camp.state,
                "reason": camp.reason,
                "release": {"id": camp.release_id, "version": rel.version if rel else None},
                "model": camp.model,
                "from_version": camp.from_version,
                "zone": camp.zone,
                "stages": list(camp.stages),
                "stage": camp.stage,
                "targets": len(targets),
                "counts": dict(sorted(counts.items())),
                "gate": self._gate(s, camp).to_dict() if camp.stage >= 0 else None,
            }

    # --- internals
    @staticmethod
    def _campaign(s: Any, name: str) -> CampaignRow:
        camp = s.scalars(select(CampaignRow).where(CampaignRow.name == name)).first()
        if camp is None:
            raise FirmwareError(f"no campaign {name!r}")
        return camp  # type: ignore[no-any-return]

    @staticmethod
    def _enter_stage(s: Any, camp: CampaignRow, index: int) -> None:
        targets = s.scalars(
            select(CampaignTargetRow)
            .where(CampaignTargetRow.campaign_id == camp.id)
            .order_by(CampaignTargetRow.device_key)
        ).all()
        quota = rollout.stage_size(len(targets), camp.stages[index])
        taken = sum(1 for t in targets if t.stage is not None)
        for t in targets:
            if taken >= quota:
                break
            if t.stage is None:
                t.stage, taken = index, taken + 1
        camp.stage, camp.updated = index, time.time()

    @staticmethod
    def _gate(s: Any, camp: CampaignRow) -> rollout.GateResult:
        statuses = s.scalars(
            select(CampaignTargetRow.status).where(
                CampaignTargetRow.campaign_id == camp.id, CampaignTargetRow.stage.is_not(None)
            )
        ).all()
        return rollout.gate(list(statuses), camp.max_failure_rate, camp.min_reports)

    @staticmethod
    def _offer(s: Any, camp: CampaignRow, release_id: int, *, revert: bool) -> Offer:
        rel = s.get(ReleaseRow, release_id)
        return Offer(camp.name, rel.id, rel.version, rel.sequence, rel.uri, rel.envelope, revert)

    @staticmethod
    def _resign(s: Any, release_id: int, sequence: int, key: PrivateKey) -> int:
        old = s.get(ReleaseRow, release_id)
        manifest = suit.build_manifest(
            vendor_domain=old.vendor,
            model=old.model,
            version=old.version,
            sequence=sequence,
            image_sha256=bytes.fromhex(old.sha256),
            image_size=old.size,
            uri=old.uri,
        )
        envelope = suit.seal(manifest, [key], [key_id(key.public_key())])
        row = ReleaseRow(
            vendor=old.vendor,
            model=old.model,
            version=old.version,
            sequence=sequence,
            sha256=old.sha256,
            size=old.size,
            uri=old.uri,
            envelope=envelope,
            added=time.time(),
        )
        s.add(row)
        s.flush()
        return int(row.id)
