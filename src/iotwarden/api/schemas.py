"""Request and response bodies of the REST API (pydantic models; they make the OpenAPI 3.1 schema).

Device, flow, finding and alert bodies carry the same keys as the CLI's ``--format json`` output.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from iotwarden.api.security import MAX_PASSWORD_LEN

MAX_ROW_ID = 2**63 - 1  # 64-bit ids (store.schema.BigId); larger ones cannot name a row
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Role = Literal["viewer", "analyst", "admin"]
Scope = Literal["read", "write", "admin", "ota:checkin"]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LEN)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    disabled: bool
    created_at: float
    last_login: float | None


class LoginResponse(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Echo in the X-CSRF-Token header of requests that change something")


class MeResponse(BaseModel):
    username: str
    role: Role
    via: Literal["session", "token"]
    scopes: list[Scope]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LEN)
    role: Role


class UserUpdate(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=MAX_PASSWORD_LEN)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=4)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650, description="None: never expires")


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: float
    expires_at: float | None
    last_used: float | None
    revoked_at: float | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown this once, only its SHA-256 is stored")


class AuditOut(BaseModel):
    id: int
    ts: float
    actor: str
    action: str
    target: str | None
    ip: str | None
    detail: dict[str, Any]


class DeviceOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # later columns (vendor, risk, ...) pass through

    key: str
    mac: str | None
    first_seen: float
    last_seen: float
    ips: list[str]
    hostnames: list[str]
    attributes: dict[str, list[str]]
    protocols: list[str]
    packets: int
    bytes: int
    classification: dict[str, Any] = Field(default_factory=dict, description="the classifier's conclusions")
    facets: dict[str, list[str]] = Field(description="vendor, type, category, risk, zone: the values known")


class DeviceList(BaseModel):
    items: list[DeviceOut]
    total: int
    total_exact: bool = Field(description="False when the count stopped at its limit (total is a lower bound)")
    offset: int
    limit: int


class FacetOut(BaseModel):
    name: str
    label: str
    source: Literal["column", "attributes", "findings", "policy", "none"]
    values: list[tuple[str, int]]


class FindingOut(BaseModel):
    id: int
    check_id: str
    title: str
    severity: str
    device_key: str
    evidence: dict[str, Any]
    remediation: str
    references: list[str]
    status: str
    first_seen: float
    last_seen: float


class AlertOut(BaseModel):
    id: int
    detector_id: str
    title: str
    severity: str
    device_key: str | None
    evidence: dict[str, Any]
    status: str
    suppressed: bool
    created: float
    updated: float
    count: int


class FindingStatus(BaseModel):
    status: Literal["open", "accepted", "resolved"]
    note: str = Field(default="", max_length=1000)


class AlertAction(BaseModel):
    note: str = Field(default="", max_length=1000)


class Approval(BaseModel):
    note: str = Field(default="", max_length=1000)


class DeviceMerge(BaseModel):
    into: str = Field(min_length=1, max_length=300, description="key of the device that keeps everything")


class ApprovalOut(BaseModel):
    device_key: str
    approved_by: str
    approved_at: float
    note: str
    present: bool = Field(description="whether the store still has this device")
