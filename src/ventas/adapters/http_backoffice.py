"""HTTP adapters for Comteco's back office: NAF cartera, GIS, Smartflex and installations (OPR-PAS-P02).

Each adapter implements its port against the contract in `docs/backoffice/<system>.yaml`, through
one `ResilientClient` per system (timeouts, retries with jitter, circuit breaker), and behaves like
its local counterpart in `ventas.adapters.reference`. Selected with VD_BACKOFFICE=http; the
environment variables are listed in `docs/backoffice/README.md`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from ventas.adapters.http_client import (
    BackOfficeContractError,
    CallPolicy,
    CircuitBreaker,
    ResilientClient,
    Response,
    Route,
    TokenSource,
)
from ventas.config import Settings
from ventas.domain.catalogue import CoverageZone, Service
from ventas.domain.errors import field_errors
from ventas.domain.identity import CI
from ventas.domain.models import Document, Location, ReasonCode
from ventas.ports import Clock, SaleRegistration

T = TypeVar("T")

NAF_IMPEDIMENTS: Final = Route("GET", "/customers/{ci}/impediments")
GIS_ZONES: Final = Route("GET", "/coverage/zones")
SMARTFLEX_SALES: Final = Route("POST", "/sales")
INSTALLATIONS_HANDOFFS: Final = Route("POST", "/handoffs")

# Every route each adapter calls, by system: the tests hold them to docs/backoffice/<system>.yaml.
ROUTES: Final[Mapping[str, tuple[Route, ...]]] = {
    "naf": (NAF_IMPEDIMENTS,),
    "gis": (GIS_ZONES,),
    "smartflex": (SMARTFLEX_SALES,),
    "installations": (INSTALLATIONS_HANDOFFS,),
}

URL_VARIABLES: Final[Mapping[str, str]] = {
    "naf": "VD_NAF_URL",
    "gis": "VD_GIS_URL",
    "smartflex": "VD_SMARTFLEX_URL",
    "installations": "VD_INSTALLATIONS_URL",
}
TOKEN_VARIABLE: Final = "VD_BACKOFFICE_TOKEN"  # noqa: S105 - the variable name, not a secret

SALES_CHANNEL: Final = "VENTAS_DIGITALES"
CARTERA_IMPEDIMENTS: Final = frozenset({ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS, ReasonCode.EQUIPMENT_TO_RETURN})
# Same ranking as ReferenceGis: highest speed, then the better network, then zone id.
_TECHNOLOGY_RANK: Final = {"FTTH": 0, "HFC": 1, "COPPER": 2}
_CI: Final = TypeAdapter(CI, config=ConfigDict(defer_build=True))
_RETRY_IN_PROGRESS: Final = frozenset({409, 429})  # 409: the first call with this key is still running


# --- Wire models: camelCase as in the contracts; unknown fields ignored (Comteco may add some) ----


class _Wire(BaseModel):
    # defer_build: each stage function builds only the schemas of the one system it calls.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, defer_build=True
    )


class _Impediment(_Wire):
    code: ReasonCode


class _CarteraStatus(_Wire):
    impediments: list[_Impediment]


class _Zone(_Wire):
    zone_id: str = Field(min_length=1, max_length=60)
    name: str
    technology: str
    max_speed_mbps: int = Field(ge=0)
    features: list[str] = Field(default_factory=list)


class _ZoneList(_Wire):
    zones: list[_Zone]


class _Registration(_Wire):
    order_id: str = Field(min_length=1, max_length=60)
    form_id: str = Field(min_length=1, max_length=60)
    registered_at: AwareDatetime


class _HandOff(_Wire):
    order_id: str = Field(min_length=1, max_length=60)


# --- Parsers and request bodies (public: the tests run the contracts' examples through them) -----


def parse_impediments(document: Any) -> list[ReasonCode]:
    """NAF `CarteraStatus` -> impediment codes, first occurrence order, no repeats."""
    codes = [item.code for item in _CarteraStatus.model_validate(document).impediments]
    wrong = sorted({code.value for code in codes} - CARTERA_IMPEDIMENTS)
    if wrong:
        raise ValueError(f"not a cartera impediment: {wrong}")
    return list(dict.fromkeys(codes))


def parse_zones(document: Any) -> list[CoverageZone]:
    """GIS `ZoneList` -> zones, best first (the contract lets GIS answer in any order)."""
    zones = [
        CoverageZone(
            zone_id=z.zone_id,
            name=z.name,
            technology=z.technology,
            max_speed_mbps=z.max_speed_mbps,
            features=z.features,
        )
        for z in _ZoneList.model_validate(document).zones
    ]
    return sorted(zones, key=lambda z: (-z.max_speed_mbps, _TECHNOLOGY_RANK.get(z.technology, 99), z.zone_id))


def parse_registration(document: Any) -> SaleRegistration:
    """Smartflex `SaleRegistration` -> the port's value, registration time in UTC."""
    parsed = _Registration.model_validate(document)
    return SaleRegistration(
        order_id=parsed.order_id, registered_at=parsed.registered_at.astimezone(UTC), form_id=parsed.form_id
    )


def parse_handoff(document: Any) -> str:
    """Installations `HandOff` -> the order id it acknowledges."""
    return _HandOff.model_validate(document).order_id


def sale_request_body(
    request_id: str,
    ci: str,
    name: str | None,
    service: Service,
    location: Location,
    documents: Sequence[Document],
) -> dict[str, Any]:
    """Smartflex `SaleRegistrationRequest`."""
    quoted: dict[str, Any] = {
        "code": service.code,
        "name": service.name,
        "kind": service.kind,
        "priceBs": service.price_bs,
        "specialFeatures": list(service.special_features),
    }
    if service.speed_mbps is not None:
        quoted["speedMbps"] = service.speed_mbps
    return {
        "requestId": request_id,
        "salesChannel": SALES_CHANNEL,
        "customer": {"ci": ci, **({"name": name} if name else {})},
        "service": quoted,
        "installationAddress": _location(location),
        "documents": [
            {
                "requirement": d.requirement,
                "mediaId": d.media_id,
                "mimeType": d.mime_type,
                "receivedAt": _utc_iso(d.received_at),
            }
            for d in documents
        ],
    }


def handoff_request_body(order_id: str, request_id: str, location: Location) -> dict[str, Any]:
    """Installations `HandOffRequest`."""
    return {"orderId": order_id, "requestId": request_id, "installationAddress": _location(location)}


def _location(location: Location) -> dict[str, Any]:
    return {"address": location.address, "latitude": location.latitude, "longitude": location.longitude}


def _utc_iso(moment: datetime) -> str:
    # Stored times are UTC; a naive one is read as UTC rather than as the container's local time.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _parse(client: ResilientClient, route: Route, response: Response, parser: Callable[[Any], T]) -> T:
    """An answer outside the contract is a bug to see, not an outage to retry."""
    try:
        return parser(response.json())
    except ValidationError as exc:  # field paths and messages only: no input values (personal data)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))
    except ValueError as exc:
        detail = str(exc)
    raise BackOfficeContractError(client.system, str(route), f"answer outside the contract ({detail})", response.status)


def _error_code(response: Response) -> str | None:
    try:
        document = response.json()
    except ValueError:
        return None
    code = document.get("code") if isinstance(document, dict) else None
    return code if isinstance(code, str) else None


# --- Adapters --------------------------------------------------------------------------------------


class HttpCartera:
    """NAF, Paquete Accionario, opción Cartera (step 4), per docs/backoffice/naf.yaml."""

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    def impediments(self, ci: str) -> list[ReasonCode]:
        """Raises ValueError for a malformed CI (an unreadable CI must not pass as clean)."""
        try:
            normalised = _CI.validate_python(ci)
        except ValidationError:
            raise ValueError("carnet de identidad no válido") from None  # the error would echo the CI
        response = self._client.call(NAF_IMPEDIMENTS, path_params={"ci": normalised}, accept=frozenset({404}))
        if response.status == 404:
            # Only NAF's own "not in the cartera" clears a customer: a gateway's 404 (a wrong
            # base URL) must not let every debtor through.
            if _error_code(response) != "CUSTOMER_NOT_FOUND":
                raise BackOfficeContractError(
                    self._client.system, str(NAF_IMPEDIMENTS), "HTTP 404 without code CUSTOMER_NOT_FOUND", 404
                )
            return []
        return _parse(self._client, NAF_IMPEDIMENTS, response, parse_impediments)


class HttpGis:
    """GIS coverage (steps 6, 7), per docs/backoffice/gis.yaml."""

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    def zones_at(self, latitude: float, longitude: float) -> list[CoverageZone]:
        """Every zone covering the point, best first (empty outside every zone)."""
        # Seven decimals: about a centimetre, far below the precision of a home location.
        query = {"lat": f"{latitude:.7f}", "lon": f"{longitude:.7f}"}
        response = self._client.call(GIS_ZONES, query=query)
        return _parse(self._client, GIS_ZONES, response, parse_zones)


class HttpSmartflex:
    """Smartflex sale registration, "Procedimiento Venta" (step 10), per docs/backoffice/smartflex.yaml.

    Idempotent per request: the request id is the Idempotency-Key, so a retry after a lost answer
    gets the first registration back (200) instead of a second order.
    """

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    def register_sale(
        self,
        request_id: str,
        ci: str,
        name: str | None,
        service: Service,
        location: Location,
        documents: Sequence[Document],
    ) -> SaleRegistration:
        response = self._client.call(
            SMARTFLEX_SALES,
            json_body=sale_request_body(request_id, ci, name, service, location, documents),
            headers={"Idempotency-Key": request_id},
            retry_statuses=_RETRY_IN_PROGRESS,
        )
        return _parse(self._client, SMARTFLEX_SALES, response, parse_registration)


class HttpInstallations:
    """Hand-off to INSTALACIONES Y TRASLADOS (OPR-PAS-P02), step 12, per docs/backoffice/installations.yaml.

    Idempotent per order (Idempotency-Key = order id): a retried hand-off is not queued twice.
    """

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    def hand_off(self, order_id: str, request_id: str, location: Location) -> None:
        response = self._client.call(
            INSTALLATIONS_HANDOFFS,
            json_body=handoff_request_body(order_id, request_id, location),
            headers={"Idempotency-Key": order_id},
            retry_statuses=_RETRY_IN_PROGRESS,
        )
        acknowledged = _parse(self._client, INSTALLATIONS_HANDOFFS, response, parse_handoff)
        if acknowledged != order_id:
            raise BackOfficeContractError(
                self._client.system, str(INSTALLATIONS_HANDOFFS), "acknowledged another order", response.status
            )


# --- Configuration and factory ---------------------------------------------------------------------


@dataclass(frozen=True)
class HttpBackOfficeConfig:
    urls: Mapping[str, str]
    policy: CallPolicy
    breaker_failures: int = 5
    breaker_cool_down_s: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HttpBackOfficeConfig:
        missing = [name for name in URL_VARIABLES.values() if not environ.get(name)]
        if missing:
            raise ValueError(f"VD_BACKOFFICE=http needs {', '.join(missing)}")

        def number(name: str, default: float) -> float:
            raw = environ.get(name)
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {raw!r}") from None

        defaults = CallPolicy()
        policy = CallPolicy(
            connect_timeout_s=number("VD_BACKOFFICE_CONNECT_TIMEOUT_S", defaults.connect_timeout_s),
            read_timeout_s=number("VD_BACKOFFICE_TIMEOUT_S", defaults.read_timeout_s),
            budget_s=number("VD_BACKOFFICE_BUDGET_S", defaults.budget_s),
            max_retries=int(number("VD_BACKOFFICE_RETRIES", defaults.max_retries)),
        )
        return cls(
            urls={system: environ[name] for system, name in URL_VARIABLES.items()},
            policy=policy,
            breaker_failures=int(number("VD_BACKOFFICE_BREAKER_FAILURES", cls.breaker_failures)),
            breaker_cool_down_s=number("VD_BACKOFFICE_BREAKER_COOLDOWN_S", cls.breaker_cool_down_s),
        )


def env_token(environ: Mapping[str, str] | None = None) -> TokenSource:
    """One bearer token for every system, from VD_BACKOFFICE_TOKEN (until it moves to Secrets
    Manager: pass any `TokenSource` to `http_backoffice` instead)."""
    token = (os.environ if environ is None else environ).get(TOKEN_VARIABLE, "")
    if not token:
        raise ValueError(f"VD_BACKOFFICE=http needs {TOKEN_VARIABLE} (or a token source)")
    return lambda system: token


def http_backoffice(
    settings: Settings,
    clock: Clock,
    *,
    token: TokenSource | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, object]:
    """The four back-office ports over HTTP: {"cartera", "gis", "smartflex", "installations"}.

    Builds no connection (the first call does), so it is cheap at container start; a missing
    URL or token fails here, on the first invocation, rather than on the first customer.
    """
    env = os.environ if environ is None else environ
    config = HttpBackOfficeConfig.from_env(env)
    source = token if token is not None else env_token(env)

    def now() -> float:
        # The breaker's cool-down runs on the injected clock: tests move it instead of sleeping.
        return clock.now().timestamp()

    def client(system: str) -> ResilientClient:
        breaker = CircuitBreaker(system, config.breaker_failures, config.breaker_cool_down_s, now)
        return ResilientClient(
            system,
            config.urls[system],
            source,
            policy=config.policy,
            breaker=breaker,
            user_agent=f"ventas-digitales/{settings.stage}",
            sleep=sleep,
        )

    return {
        "cartera": HttpCartera(client("naf")),
        "gis": HttpGis(client("gis")),
        "smartflex": HttpSmartflex(client("smartflex")),
        "installations": HttpInstallations(client("installations")),
    }
