"""Configuration, read from the environment once per container.

Every waiting period of the procedure is here, in business units (hours), and `time_scale`
compresses them for local runs: with `time_scale=3600` one business hour lasts one second.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any, Literal

from ventas.domain.area import BOLIVIA, SERVICE_AREA, ServiceArea
from ventas.domain.identity import PHONE_AREAS

EfficiencyPolicy = Literal["registered", "installed", "qc_done"]

WHATSAPP_TEMPLATE_LANGUAGE = "es"
DEFAULT_PHONE_AREAS: Mapping[str, str] = {"ivr": "4"}  # the IVR lines are in Cochabamba
_AREA_DIGITS = frozenset({"2", "3", "4"})
# Meta's rules: template names are lower-case letters, digits and "_"; languages as es, es_MX.
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Timing:
    """Waits of the procedure, in business hours (scaled to seconds by `Settings.seconds`)."""

    agent_task_hours: float = 8.0  # call-back, identification, location: one shift
    documents_hours: float = 48.0  # step 9: first wait for the requirements
    documents_reminder_hours: float = 24.0  # step 9: second wait after the reminder
    installation_hours: float = 15 * 24.0  # step 12: the procedure's 15-day upper bound
    follow_up_hours: float = 24.0  # step 12 escalation task
    review_hours: float = 24.0  # manual review of a back-office fault (re-opened when it expires)
    qc_delay_hours: float = 48.0  # step 13: QC call this long after installation
    qc_task_hours: float = 72.0  # step 13.1: window to make the QC call


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    requests_table: str = "vd-requests"
    tasks_table: str = "vd-tasks"
    documents_bucket: str = "vd-documents"
    state_machine_arn: str = ""
    pii_key: str = "local-only-pii-key"  # keyed hash of CI and phone; a secret in AWS
    pii_key_secret: str = ""  # in AWS: the secret holding pii_key (read by ventas.bootstrap)
    backoffice_secret: str = ""  # in AWS: the secret holding the back-office bearer tokens
    backoffice: Literal["reference", "http"] = "reference"
    # Empty: customer messages stay in the local outbox (reference.OutboxNotifier).
    whatsapp_phone_number_id: str = ""
    # Message template (e.g. "requirements_request") -> (approved Meta template, language).
    whatsapp_templates: Mapping[str, tuple[str, str]] = field(default_factory=dict, hash=False)
    time_scale: float = 1.0
    business_open: time = time(8, 30)
    business_close: time = time(18, 30)
    business_days: frozenset[int] = frozenset({0, 1, 2, 3, 4, 5})  # Mon-Sat, America/La_Paz
    # Channel -> area digit (2, 3 or 4) that completes a 7-digit local landline its leads carry
    # (VD_PHONE_AREAS, e.g. `ivr=4`): the IVR lines 4200400, 4322205 and 4001515 are in
    # Cochabamba, so a caller's 4200400 is +59144200400. Other channels get no area: such a
    # number is refused with a message asking for the area digit (ventas.domain.identity).
    phone_areas: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PHONE_AREAS), hash=False)
    # Where a customer's point may lie (VD_SERVICE_AREA, `south,west,north,east`): a lead's or the
    # location task's point outside it is refused (ventas.domain.area); default Bolivia's box.
    service_area: ServiceArea = BOLIVIA
    efficiency_policy: EfficiencyPolicy = "registered"
    kpi_threshold: float = 95.0
    personal_data_retention_days: int = 365  # closed requests are anonymised after this
    # A review or follow-up nobody works is re-opened this many times (the last one escalated to
    # the supervisor); when that one times out too, the request ends as TASK_NOT_WORKED.
    max_reopenings: int = 3
    # Step 1.2, "volver a llamar": how many times one call-back may be rescheduled, how long
    # (business minutes, scaled like the waits) it stays reserved for the agent who agreed the
    # time after that time, and the least time left between that time and the task's deadline.
    max_call_agains: int = 3
    call_again_grace_minutes: float = 15.0
    call_again_margin_minutes: float = 15.0
    timing: Timing = field(default_factory=Timing)

    def seconds(self, hours: float) -> int:
        """A waiting period in (scaled) seconds for the ASL: an integer of at least 1."""
        return max(1, round(hours * 3600 / self.time_scale))

    def scaled(self, minutes: float) -> timedelta:
        """Business minutes as real time under `time_scale` (not rounded: may be under a second)."""
        return timedelta(seconds=minutes * 60 / self.time_scale)

    def validation_context(self) -> dict[str, Any]:
        """The pydantic context for what enters from outside (a channel's lead, an agent's task
        body): the channels' phone areas (`ventas.domain.identity`) and the service area
        (`ventas.domain.area`)."""
        return {PHONE_AREAS: self.phone_areas, SERVICE_AREA: self.service_area}

    def execution_timing(self) -> dict[str, int]:
        """The `$.timing` block each execution starts with (ASL `*SecondsPath`)."""
        t = self.timing
        return {
            "agentTask": self.seconds(t.agent_task_hours),
            "documents": self.seconds(t.documents_hours),
            "documentsReminder": self.seconds(t.documents_reminder_hours),
            "installation": self.seconds(t.installation_hours),
            "followUp": self.seconds(t.follow_up_hours),
            "review": self.seconds(t.review_hours),
            "qcTask": self.seconds(t.qc_task_hours),
        }

    @classmethod
    def from_env(cls) -> Settings:
        timing = Timing(
            **{
                name: float(os.environ[f"VD_{name.upper()}"])
                for name in Timing.__dataclass_fields__
                if f"VD_{name.upper()}" in os.environ
            }
        )
        policy = _env("VD_EFFICIENCY_POLICY", "registered")
        if policy not in ("registered", "installed", "qc_done"):
            raise ValueError(f"VD_EFFICIENCY_POLICY must be registered|installed|qc_done, got {policy!r}")
        backoffice = _env("VD_BACKOFFICE", "reference")
        if backoffice not in ("reference", "http"):
            raise ValueError(f"VD_BACKOFFICE must be reference|http, got {backoffice!r}")
        return cls(
            stage=_env("VD_STAGE", "local"),
            requests_table=_env("VD_REQUESTS_TABLE", "vd-requests"),
            tasks_table=_env("VD_TASKS_TABLE", "vd-tasks"),
            documents_bucket=_env("VD_DOCUMENTS_BUCKET", "vd-documents"),
            state_machine_arn=_env("VD_STATE_MACHINE_ARN", ""),
            pii_key=_env("VD_PII_KEY", "local-only-pii-key"),
            pii_key_secret=_env("VD_PII_KEY_SECRET_ARN", ""),
            backoffice_secret=_env("VD_BACKOFFICE_SECRET_ARN", ""),
            backoffice=backoffice,  # type: ignore[arg-type]
            whatsapp_phone_number_id=_env("VD_WHATSAPP_PHONE_NUMBER_ID", "").strip(),
            whatsapp_templates=parse_whatsapp_templates(_env("VD_WHATSAPP_TEMPLATES", "")),
            time_scale=float(_env("VD_TIME_SCALE", "1")),
            phone_areas=parse_phone_areas(os.environ.get("VD_PHONE_AREAS")),
            service_area=ServiceArea.parse(os.environ["VD_SERVICE_AREA"])
            if "VD_SERVICE_AREA" in os.environ
            else BOLIVIA,
            efficiency_policy=policy,  # type: ignore[arg-type]
            kpi_threshold=float(_env("VD_KPI_THRESHOLD", "95")),
            personal_data_retention_days=int(_env("VD_PERSONAL_DATA_RETENTION_DAYS", "365")),
            max_reopenings=int(_env("VD_MAX_REOPENINGS", "3")),
            max_call_agains=int(_env("VD_MAX_CALL_AGAINS", "3")),
            call_again_grace_minutes=float(_env("VD_CALL_AGAIN_GRACE_MINUTES", "15")),
            call_again_margin_minutes=float(_env("VD_CALL_AGAIN_MARGIN_MINUTES", "15")),
            timing=timing,
        )


def parse_whatsapp_templates(value: str) -> dict[str, tuple[str, str]]:
    """VD_WHATSAPP_TEMPLATES: `message=approved_name[:language]`, comma separated, e.g.
    `requirements_request=vd_requisitos,sale_done=vd_venta:es_MX` (language "es" by default).

    Raises ValueError at start-up: a typo must not fall back to free-form text silently.
    """
    templates: dict[str, tuple[str, str]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        message, equals, target = (part.strip() for part in item.partition("="))
        name, _, language = (part.strip() for part in target.partition(":"))
        language = language or WHATSAPP_TEMPLATE_LANGUAGE
        if not equals or not message or not _TEMPLATE_NAME.fullmatch(name):
            raise ValueError(f"VD_WHATSAPP_TEMPLATES: expected message=template_name[:language], got {item!r}")
        if not _TEMPLATE_LANGUAGE.fullmatch(language):
            raise ValueError(f"VD_WHATSAPP_TEMPLATES: {language!r} is not a language code like es or es_MX")
        if message in templates:
            raise ValueError(f"VD_WHATSAPP_TEMPLATES: {message!r} is mapped twice")
        templates[message] = (name, language)
    return templates


def parse_phone_areas(value: str | None) -> dict[str, str]:
    """VD_PHONE_AREAS: `channel=area`, comma separated (`ivr=4,web=2`); unset: `ivr=4`; empty: none.

    Raises ValueError at start-up for an area other than 2, 3 or 4 (Bolivia's area digits).
    """
    if value is None:
        return dict(DEFAULT_PHONE_AREAS)
    areas: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        channel, equals, area = (part.strip() for part in item.partition("="))
        if not equals or not channel or area not in _AREA_DIGITS:
            raise ValueError(f"VD_PHONE_AREAS: expected channel=area with area 2, 3 or 4, got {item!r}")
        areas[channel] = area
    return areas
