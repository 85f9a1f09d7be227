"""HTTP back-office adapters against a real local server that speaks docs/backoffice/*.yaml.

The server checks every request and answer against the contracts (`backoffice_server`), and the
fixture fails a test that produced any mismatch. Pauses between retries are recorded, not slept;
the breaker's cool-down runs on a hand-moved clock.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from openapi_spec_validator import validate as validate_openapi

from tests.unit.backoffice_server import (
    DOCS,
    SYSTEMS,
    Action,
    FakeBackOffice,
    find_operation,
    load_spec,
    resolve,
    schema_errors,
)
from ventas import bootstrap
from ventas.adapters import http_backoffice as hb
from ventas.adapters.http_backoffice import (
    HttpCartera,
    HttpGis,
    HttpInstallations,
    HttpSmartflex,
    http_backoffice,
)
from ventas.adapters.http_client import (
    BackOfficeContractError,
    CallPolicy,
    CircuitBreaker,
    ResilientClient,
)
from ventas.adapters.reference import ReferenceCatalogue
from ventas.config import Settings
from ventas.container import Container
from ventas.domain.catalogue import Requirement, Service
from ventas.domain.errors import BackOfficeUnavailable
from ventas.domain.models import Document, Location, ReasonCode
from ventas.ports import Cartera, Gis, Installations, SaleRegistration, Smartflex

TOKEN = "s3cr3t-token"
# Short enough that the whole file runs in a few seconds; pauses are recorded, not slept.
FAST = CallPolicy(
    connect_timeout_s=1.0, read_timeout_s=2.0, budget_s=4.0, base_delay_s=0.05, max_delay_s=0.1, retry_after_cap_s=2.0
)
# Where timeouts are the subject: far below the server's scripted delays (which end when it stops).
IMPATIENT = CallPolicy(connect_timeout_s=1.0, read_timeout_s=0.2, budget_s=4.0, base_delay_s=0.05, max_delay_s=0.1)
SLOW = Action(delay_s=3.0)
HOME = Location(address="Calle España 250, Cochabamba", latitude=-17.3935, longitude=-66.157)
SERVICE = Service(
    code="INTERNET_FTTH_100",
    name="Internet Fibra Óptica 100 Mbps",
    kind="internet",
    speed_mbps=100,
    price_bs=229.0,
    technologies=["FTTH"],
    requirements=[Requirement(code="CI_ANVERSO", label="Carnet (anverso)")],
)
DOCUMENTS = [
    Document(
        requirement="CI_ANVERSO",
        media_id="1045322771",
        mime_type="image/jpeg",
        received_at=datetime(2026, 3, 12, 14, 2, 11, tzinfo=UTC),
    )
]


class ManualClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def fake() -> Iterator[FakeBackOffice]:
    server = FakeBackOffice(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == [], "adapters and docs/backoffice disagree"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class Harness:
    """Clients for the fake server, with recorded pauses and token requests."""

    def __init__(self, fake: FakeBackOffice, clock: ManualClock) -> None:
        self.fake = fake
        self.clock = clock
        self.sleeps: list[float] = []
        self.token_requests: list[str] = []

    def token(self, system: str) -> str:
        self.token_requests.append(system)
        return TOKEN

    def client(
        self, system: str, policy: CallPolicy = FAST, failures: int = 3, url: str | None = None
    ) -> ResilientClient:
        breaker = CircuitBreaker(
            system, failure_threshold=failures, cool_down_s=10, now=lambda: self.clock.now().timestamp()
        )
        return ResilientClient(
            system, url or self.fake.url(system), self.token, policy=policy, breaker=breaker, sleep=self.sleeps.append
        )


@pytest.fixture
def h(fake: FakeBackOffice, clock: ManualClock) -> Harness:
    return Harness(fake, clock)


def unavailable() -> Action:
    return Action(status=503, body={"code": "UNAVAILABLE"})


# --- the contracts themselves --------------------------------------------------------------------


@pytest.mark.parametrize("system", SYSTEMS)
def test_each_contract_is_valid_openapi_with_bearer_auth(system: str) -> None:
    spec = load_spec(system)
    validate_openapi(spec)
    assert spec["openapi"].startswith("3.0")
    assert spec["security"] == [{"bearerAuth": []}]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("system", SYSTEMS)
def test_adapters_call_only_documented_operations(system: str) -> None:
    for route in hb.ROUTES[system]:
        concrete = re.sub(r"\{\w+\}", "4567890", route.template)
        assert find_operation(system, route.method, concrete) is not None, f"{route} missing from {system}.yaml"


def examples(system: str, operation_id: str, status: str) -> list[Any]:
    """The examples of one answer, each checked against the answer's own schema first."""
    spec = load_spec(system)
    operation = next(
        resolve(op, spec)
        for item in spec["paths"].values()
        for op in item.values()
        if op["operationId"] == operation_id
    )
    content = operation["responses"][status]["content"]["application/json"]
    found = [e["value"] for e in content.get("examples", {}).values()] + (
        [content["example"]] if "example" in content else []
    )
    assert found, f"{system} {operation_id} {status} has no example"
    for example in found:
        assert schema_errors(content["schema"], example) == []
    return found


def test_contract_examples_parse_with_the_adapters_parsers() -> None:
    debtor, clean = examples("naf", "getImpediments", "200")
    assert hb.parse_impediments(debtor) == [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]
    assert hb.parse_impediments(clean) == []
    assert [e["code"] for e in examples("naf", "getImpediments", "404")] == ["CUSTOMER_NOT_FOUND"]

    overlapping, outside = examples("gis", "listZonesAtPoint", "200")
    assert [z.zone_id for z in hb.parse_zones(overlapping)] == ["CBB-CENTRO-FTTH", "CBB-CERCADO-HFC"]
    assert hb.parse_zones(outside) == []

    for status in ("201", "200"):
        (registration,) = examples("smartflex", "registerSale", status)
        parsed = hb.parse_registration(registration)
        assert parsed == SaleRegistration(
            "SF-2026-000123", datetime(2026, 3, 12, 18, 5, 9, tzinfo=UTC), "SS-2026-000123"
        )
    for status in ("202", "200"):
        (handoff,) = examples("installations", "handOffOrder", status)
        assert hb.parse_handoff(handoff) == "SF-2026-000123"
    for system in SYSTEMS:  # every documented refusal carries the Error shape the client reads
        spec = load_spec(system)
        for response in resolve(spec["components"]["responses"], spec).values():
            assert isinstance(response["content"]["application/json"]["example"]["code"], str)


@pytest.mark.parametrize(("system", "operation_id"), [("smartflex", "registerSale"), ("installations", "handOffOrder")])
def test_request_examples_and_adapter_bodies_match_the_contract(system: str, operation_id: str) -> None:
    spec = load_spec(system)
    operation = next(
        resolve(op, spec)
        for item in spec["paths"].values()
        for op in item.values()
        if op["operationId"] == operation_id
    )
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema_errors(schema, operation["requestBody"]["content"]["application/json"]["example"]) == []
    if system == "smartflex":
        bare = SERVICE.model_copy(update={"speed_mbps": None, "special_features": ["static_ip"]})
        bodies = [
            hb.sale_request_body("vd-req-0001", "4012345-1B CB", "Gladys Choque", SERVICE, HOME, DOCUMENTS),
            hb.sale_request_body("vd-req-0002", "4567890", None, bare, HOME, []),
        ]
    else:
        bodies = [hb.handoff_request_body("SF-2026-000001", "vd-req-0001", HOME)]
    for body in bodies:
        assert schema_errors(schema, body) == []


def test_readme_documents_every_environment_variable() -> None:
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    source = Path(hb.__file__).read_text(encoding="utf-8")
    variables = set(re.findall(r"\bVD_[A-Z_]+\b", source))
    assert {"VD_NAF_URL", "VD_BACKOFFICE_TOKEN", "VD_BACKOFFICE_TIMEOUT_S"} <= variables
    assert sorted(v for v in variables if v not in readme) == []


# --- each adapter against the contract's normal answers --------------------------------------------


def test_cartera_reports_impediments_once_each_in_naf_order(h: Harness) -> None:
    cartera: Cartera = HttpCartera(h.client("naf"))
    assert cartera.impediments("6789012 cb") == [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]
    assert cartera.impediments("4567890 CB") == []
    assert h.fake.calls("naf")[0].path == "/customers/6789012%20CB/impediments"  # normalised, one segment


def test_naf_404_customer_not_found_means_no_impediments(h: Harness) -> None:
    assert HttpCartera(h.client("naf")).impediments("7777777 LP") == []
    assert len(h.fake.calls("naf")) == 1


def test_a_404_that_is_not_naf_s_own_never_clears_a_customer(h: Harness) -> None:
    h.fake.script("naf", Action(status=404, body={"code": "ROUTE_NOT_FOUND"}))
    with pytest.raises(BackOfficeContractError, match="CUSTOMER_NOT_FOUND"):
        HttpCartera(h.client("naf")).impediments("6789012 CB")


def test_a_malformed_ci_fails_before_any_call_without_echoing_it(h: Harness) -> None:
    with pytest.raises(ValueError, match="no válido") as caught:
        HttpCartera(h.client("naf")).impediments("12-ABC 999")
    assert "12-ABC" not in str(caught.value)
    assert h.fake.calls() == []


def test_an_unknown_impediment_code_fails_instead_of_passing_the_customer(h: Harness) -> None:
    h.fake.cartera["5555123 CB"] = ["DEBT"]
    # Scripted answer outside the enum: the fake records that as a violation, so clear it after.
    h.fake.script("naf", Action(status=200, body={"impediments": [{"code": "LEGAL_HOLD"}]}))
    with pytest.raises(BackOfficeContractError, match="outside the contract") as caught:
        HttpCartera(h.client("naf")).impediments("5555123 CB")
    assert "5555123" not in str(caught.value)
    assert h.fake.violations
    assert all("LEGAL_HOLD" in v for v in h.fake.violations)
    h.fake.violations.clear()


def test_gis_returns_every_zone_best_first(h: Harness) -> None:
    gis: Gis = HttpGis(h.client("gis"))
    zones = gis.zones_at(HOME.latitude, HOME.longitude)
    assert [(z.zone_id, z.technology, z.max_speed_mbps) for z in zones] == [
        ("CBB-CENTRO-FTTH", "FTTH", 1000),
        ("CBB-CERCADO-HFC", "HFC", 100),
    ]
    assert zones[0].features == ["static_ip"]
    assert h.fake.calls("gis")[0].query == {"lat": "-17.3935000", "lon": "-66.1570000"}
    assert gis.zones_at(-17.0, -65.0) == []


def test_smartflex_registers_once_per_request_id(h: Harness) -> None:
    smartflex: Smartflex = HttpSmartflex(h.client("smartflex"))
    first = smartflex.register_sale("vd-req-0001", "4567890 CB", "Ana Torrico", SERVICE, HOME, DOCUMENTS)
    again = smartflex.register_sale("vd-req-0001", "4567890 CB", "Ana Torrico", SERVICE, HOME, DOCUMENTS)
    other = smartflex.register_sale("vd-req-0002", "4567890 CB", None, SERVICE, HOME, [])
    assert (
        first
        == again
        == SaleRegistration("SF-2026-000001", datetime(2026, 3, 12, 18, 5, 9, tzinfo=UTC), "SS-2026-000001")
    )
    assert first.registered_at.tzinfo == UTC
    assert other.order_id == "SF-2026-000002"
    calls = h.fake.calls("smartflex")
    assert [c.headers["idempotency-key"] for c in calls] == ["vd-req-0001", "vd-req-0001", "vd-req-0002"]
    assert calls[0].body["customer"] == {"ci": "4567890 CB", "name": "Ana Torrico"}
    assert calls[0].body["documents"][0]["receivedAt"] == "2026-03-12T14:02:11+00:00"
    assert len(h.fake.sales) == 2


def test_a_lost_smartflex_answer_is_retried_under_the_same_key_and_registers_once(h: Harness) -> None:
    h.fake.script("smartflex", Action(lose_answer=True))
    registration = HttpSmartflex(h.client("smartflex")).register_sale(
        "vd-req-0003", "4567890 CB", None, SERVICE, HOME, DOCUMENTS
    )
    assert registration.order_id == "SF-2026-000001"
    assert len(h.fake.sales) == 1
    calls = h.fake.calls("smartflex")
    assert len(calls) == 2
    assert {c.headers["idempotency-key"] for c in calls} == {"vd-req-0003"}
    assert len({c.headers["x-correlation-id"] for c in calls}) == 1  # one call, two attempts


def test_smartflex_409_in_progress_is_retried(h: Harness) -> None:
    h.fake.script(
        "smartflex", Action(status=409, body={"code": "IDEMPOTENCY_IN_PROGRESS"}, headers={"Retry-After": "0"})
    )
    registration = HttpSmartflex(h.client("smartflex")).register_sale(
        "vd-req-0004", "4567890 CB", None, SERVICE, HOME, []
    )
    assert registration.form_id == "SS-2026-000001"
    assert h.sleeps == [0.0]


def test_installations_hand_off_is_idempotent_per_order(h: Harness) -> None:
    installations: Installations = HttpInstallations(h.client("installations"))
    installations.hand_off("SF-2026-000001", "vd-req-0001", HOME)
    installations.hand_off("SF-2026-000001", "vd-req-0001", HOME)
    assert list(h.fake.handoffs) == ["SF-2026-000001"]
    body = h.fake.calls("installations")[0].body
    assert body == {"orderId": "SF-2026-000001", "requestId": "vd-req-0001", "installationAddress": HOME.model_dump()}


def test_installations_acknowledging_another_order_is_a_contract_error(h: Harness) -> None:
    h.fake.script("installations", Action(status=202, body={"orderId": "SF-2026-999999", "status": "queued"}))
    with pytest.raises(BackOfficeContractError, match="another order"):
        HttpInstallations(h.client("installations")).hand_off("SF-2026-000001", "vd-req-0001", HOME)


def test_every_call_carries_the_bearer_token_and_a_correlation_id(h: Harness) -> None:
    HttpCartera(h.client("naf")).impediments("4567890 CB")
    HttpGis(h.client("gis")).zones_at(HOME.latitude, HOME.longitude)
    for call in h.fake.calls():
        assert call.headers["authorization"] == f"Bearer {TOKEN}"
        assert re.fullmatch(r"[0-9a-f]{32}", call.headers["x-correlation-id"])
        assert call.headers["user-agent"].startswith("ventas-digitales")
    assert h.token_requests == ["naf", "gis"]  # asked per call and per system: a secret reader can rotate it


def test_a_rejected_token_is_a_contract_error_not_an_outage(h: Harness) -> None:
    client = ResilientClient("naf", h.fake.url("naf"), lambda system: "stale", policy=FAST, sleep=h.sleeps.append)
    with pytest.raises(BackOfficeContractError, match="credential") as caught:
        HttpCartera(client).impediments("4567890 CB")
    assert caught.value.status == 401
    assert len(h.fake.calls("naf")) == 1


# --- timeouts, retries, Retry-After ----------------------------------------------------------------


def test_slow_answers_time_out_and_end_unavailable_after_the_retries(h: Harness) -> None:
    h.fake.script("gis", *[SLOW] * 3)
    started = time.monotonic()
    with pytest.raises(BackOfficeUnavailable, match="tiempo de espera agotado"):
        HttpGis(h.client("gis", policy=IMPATIENT)).zones_at(HOME.latitude, HOME.longitude)
    assert time.monotonic() - started < 2.0  # 3 attempts x 0.2 s read timeout, pauses not slept
    assert len(h.fake.calls("gis")) == 3
    assert len(h.sleeps) == 2


def test_the_budget_cuts_attempts_short(h: Harness) -> None:
    policy = CallPolicy(connect_timeout_s=0.5, read_timeout_s=5.0, budget_s=0.3, max_retries=5, base_delay_s=0.01)
    h.fake.script("gis", *[SLOW] * 6)
    started = time.monotonic()
    with pytest.raises(BackOfficeUnavailable):
        HttpGis(h.client("gis", policy=policy, failures=10)).zones_at(HOME.latitude, HOME.longitude)
    assert time.monotonic() - started < 2.0  # not the 5 s read timeout, nor 6 attempts
    assert len(h.fake.calls("gis")) <= 2


def test_503_then_200_succeeds_after_one_jittered_retry(h: Harness) -> None:
    h.fake.script("naf", unavailable())
    assert HttpCartera(h.client("naf")).impediments("6789012 CB") == [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]
    assert len(h.fake.calls("naf")) == 2
    assert len(h.sleeps) == 1
    assert 0 <= h.sleeps[0] < FAST.base_delay_s


def test_pauses_grow_exponentially_with_full_jitter_then_give_up(h: Harness) -> None:
    client = ResilientClient(
        "naf", h.fake.url("naf"), h.token, policy=FAST, sleep=h.sleeps.append, jitter=lambda: 0.999
    )
    h.fake.script("naf", *[unavailable()] * 3)
    with pytest.raises(BackOfficeUnavailable, match=r"HTTP 503, 3 intento"):
        HttpCartera(client).impediments("4567890 CB")
    assert h.sleeps == pytest.approx([0.05 * 0.999, 0.1 * 0.999])


def test_429_retry_after_is_honoured(h: Harness) -> None:
    h.fake.script("gis", Action(status=429, body={"code": "THROTTLED"}, headers={"Retry-After": "1"}))
    assert len(HttpGis(h.client("gis")).zones_at(HOME.latitude, HOME.longitude)) == 2
    assert h.sleeps == [1.0]


def test_retry_after_as_an_http_date(h: Harness) -> None:
    later = formatdate(time.time() + 1, usegmt=True)
    h.fake.script("gis", Action(status=503, body={"code": "UNAVAILABLE"}, headers={"Retry-After": later}))
    HttpGis(h.client("gis")).zones_at(HOME.latitude, HOME.longitude)
    assert len(h.sleeps) == 1
    assert 0 <= h.sleeps[0] <= 1.0


def test_a_long_retry_after_is_left_to_the_workflow(h: Harness) -> None:
    h.fake.script("naf", Action(status=429, body={"code": "THROTTLED"}, headers={"Retry-After": "120"}))
    with pytest.raises(BackOfficeUnavailable, match="pide esperar 120 s"):
        HttpCartera(h.client("naf")).impediments("4567890 CB")
    assert len(h.fake.calls("naf")) == 1
    assert h.sleeps == []


def test_400_is_neither_retried_nor_an_outage(h: Harness) -> None:
    h.fake.script("gis", Action(status=400, body={"code": "INVALID_POINT", "message": "punto 4567890 CB"}))
    with pytest.raises(BackOfficeContractError) as caught:
        HttpGis(h.client("gis")).zones_at(HOME.latitude, HOME.longitude)
    assert not isinstance(caught.value, BackOfficeUnavailable)
    assert (caught.value.status, caught.value.code) == (400, "INVALID_POINT")
    assert str(caught.value) == "gis GET /coverage/zones: HTTP 400 INVALID_POINT"  # no free text, no URL
    assert len(h.fake.calls("gis")) == 1
    assert h.sleeps == []


def test_a_refused_connection_is_unavailable(h: Harness) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = h.client("naf", url=f"http://127.0.0.1:{port}/naf")
    with pytest.raises(BackOfficeUnavailable, match="conexión fallida"):
        HttpCartera(client).impediments("4567890 CB")
    assert len(h.sleeps) == 2


def test_a_non_idempotent_call_is_not_repeated_once_sent(h: Harness) -> None:
    h.fake.script("naf", unavailable())
    with pytest.raises(BackOfficeUnavailable, match="1 intento"):
        h.client("naf").call(hb.NAF_IMPEDIMENTS, path_params={"ci": "4567890 CB"}, idempotent=False)
    assert len(h.fake.calls("naf")) == 1


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, valid for an hour."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, private = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, private


def test_https_verifies_the_server_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = FakeBackOffice(token=TOKEN, tls=tls).start()
    sleeps: list[float] = []
    try:
        url = server.url("naf")
        assert url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        client = ResilientClient("naf", url, lambda system: TOKEN, policy=FAST, ssl_context=trusted)
        assert HttpCartera(client).impediments("6789012 CB") == [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]
        # The system's CA store does not know this certificate: a misconfiguration, not an outage.
        default = ResilientClient("naf", url, lambda system: TOKEN, policy=FAST, sleep=sleeps.append)
        with pytest.raises(BackOfficeContractError, match="TLS certificate rejected"):
            HttpCartera(default).impediments("6789012 CB")
        assert sleeps == []
        assert default.breaker.state == CircuitBreaker.CLOSED  # not an outage
        assert len(server.calls("naf")) == 1
    finally:
        server.stop()
    assert server.violations == []


# --- circuit breaker ---------------------------------------------------------------------------------


def test_the_circuit_opens_after_n_failures_and_half_opens_after_the_cool_down(h: Harness) -> None:
    client = h.client("naf", failures=3)
    cartera = HttpCartera(client)
    h.fake.script("naf", *[unavailable()] * 3)
    with pytest.raises(BackOfficeUnavailable, match="HTTP 503"):
        cartera.impediments("4567890 CB")
    assert client.breaker.state == CircuitBreaker.OPEN

    for _ in range(3):  # open: fails at once, the server sees nothing
        with pytest.raises(BackOfficeUnavailable, match="circuito abierto"):
            cartera.impediments("4567890 CB")
    h.clock.advance(9.9)
    with pytest.raises(BackOfficeUnavailable, match="circuito abierto"):
        cartera.impediments("4567890 CB")
    assert len(h.fake.calls("naf")) == 3

    h.clock.advance(0.2)
    assert client.breaker.state == CircuitBreaker.HALF_OPEN
    assert cartera.impediments("6789012 CB") == [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]  # the probe
    assert client.breaker.state == CircuitBreaker.CLOSED
    assert len(h.fake.calls("naf")) == 4


def test_a_failed_probe_opens_the_circuit_again(h: Harness) -> None:
    client = h.client("gis", failures=3)
    gis = HttpGis(client)
    h.fake.script("gis", *[unavailable()] * 4)
    with pytest.raises(BackOfficeUnavailable):
        gis.zones_at(HOME.latitude, HOME.longitude)
    h.clock.advance(10)
    with pytest.raises(BackOfficeUnavailable, match="circuito abierto"):  # the probe fails: no retry through
        gis.zones_at(HOME.latitude, HOME.longitude)
    assert len(h.fake.calls("gis")) == 4
    assert client.breaker.state == CircuitBreaker.OPEN
    h.clock.advance(10)
    assert len(gis.zones_at(HOME.latitude, HOME.longitude)) == 2


def test_half_open_lets_a_single_probe_through(h: Harness) -> None:
    client = h.client("naf", failures=1, policy=CallPolicy(read_timeout_s=2.0, max_retries=0))
    cartera = HttpCartera(client)
    gate = threading.Event()
    h.fake.script("naf", unavailable(), Action(hold=gate))
    with pytest.raises(BackOfficeUnavailable):
        cartera.impediments("4567890 CB")
    h.clock.advance(10)
    results: list[object] = []
    probe = threading.Thread(target=lambda: results.append(cartera.impediments("4567890 CB")))
    probe.start()
    deadline = time.monotonic() + 2
    while len(h.fake.calls("naf")) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(BackOfficeUnavailable, match="circuito en prueba"):
        cartera.impediments("4567890 CB")
    gate.set()
    probe.join(timeout=2)
    assert results == [[]]
    assert client.breaker.state == CircuitBreaker.CLOSED
    assert len(h.fake.calls("naf")) == 2


def test_refusals_do_not_open_the_circuit(h: Harness) -> None:
    client = h.client("gis", failures=2)
    h.fake.script("gis", *[Action(status=400, body={"code": "INVALID_POINT"})] * 3)
    for _ in range(3):
        with pytest.raises(BackOfficeContractError):
            HttpGis(client).zones_at(HOME.latitude, HOME.longitude)
    assert client.breaker.state == CircuitBreaker.CLOSED


# --- configuration, factory and wiring ------------------------------------------------------------


def environment(fake: FakeBackOffice, **extra: str) -> dict[str, str]:
    return {
        "VD_NAF_URL": fake.url("naf"),
        "VD_GIS_URL": fake.url("gis"),
        "VD_SMARTFLEX_URL": fake.url("smartflex"),
        "VD_INSTALLATIONS_URL": fake.url("installations"),
        "VD_BACKOFFICE_TOKEN": TOKEN,
        **extra,
    }


def test_the_factory_builds_working_adapters_from_the_environment(fake: FakeBackOffice, clock: ManualClock) -> None:
    env = environment(fake, VD_BACKOFFICE_TIMEOUT_S="0.2", VD_BACKOFFICE_BREAKER_FAILURES="2")
    ports = http_backoffice(Settings(backoffice="http", stage="test"), clock, environ=env, sleep=lambda s: None)
    assert sorted(ports) == ["cartera", "gis", "installations", "smartflex"]
    cartera, gis = ports["cartera"], ports["gis"]
    assert isinstance(cartera, HttpCartera)
    assert isinstance(gis, HttpGis)
    assert isinstance(ports["smartflex"], HttpSmartflex)
    assert isinstance(ports["installations"], HttpInstallations)
    assert cartera.impediments("4567890 CB") == []
    assert fake.calls("naf")[0].headers["user-agent"] == "ventas-digitales/test"

    fake.script("gis", SLOW, SLOW)  # the environment's timeout and threshold apply
    with pytest.raises(BackOfficeUnavailable, match="circuito abierto"):
        gis.zones_at(HOME.latitude, HOME.longitude)
    assert len(fake.calls("gis")) == 2


def test_an_injected_token_source_replaces_the_environment(fake: FakeBackOffice, clock: ManualClock) -> None:
    env = environment(fake)
    del env["VD_BACKOFFICE_TOKEN"]
    asked: list[str] = []

    def secret(system: str) -> str:
        asked.append(system)
        return TOKEN

    ports = http_backoffice(Settings(backoffice="http"), clock, environ=env, token=secret)
    ports["smartflex"].register_sale("vd-req-0001", "4567890 CB", None, SERVICE, HOME, [])  # type: ignore[attr-defined]
    assert asked == ["smartflex"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"VD_GIS_URL": ""}, "VD_GIS_URL"),
        ({"VD_BACKOFFICE_TOKEN": ""}, "VD_BACKOFFICE_TOKEN"),
        ({"VD_NAF_URL": "http://naf.comteco.example/cartera/v1"}, "loopback"),
        ({"VD_BACKOFFICE_TIMEOUT_S": "five"}, "VD_BACKOFFICE_TIMEOUT_S"),
    ],
)
def test_bad_configuration_fails_at_build(
    fake: FakeBackOffice, clock: ManualClock, change: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        http_backoffice(Settings(backoffice="http"), clock, environ={**environment(fake), **change})


def test_bootstrap_wires_the_http_back_office(
    fake: FakeBackOffice, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment(fake).items():
        monkeypatch.setenv(name, value)
    backoffice = {"settings", "clock", "cartera", "gis", "smartflex", "installations", "catalogue", "notifier"}
    others = {f.name: None for f in dataclasses.fields(Container) if f.name not in backoffice}
    deps = bootstrap.build(Settings(backoffice="http"), clock=clock, **others)
    assert isinstance(deps.cartera, HttpCartera)
    assert isinstance(deps.gis, HttpGis)
    assert isinstance(deps.smartflex, HttpSmartflex)
    assert isinstance(deps.installations, HttpInstallations)
    assert isinstance(deps.catalogue, ReferenceCatalogue)  # the catalogue stays reference data
    assert deps.cartera.impediments("6789012 CB") == [ReasonCode.DEBT, ReasonCode.CENTRAL_DE_RIESGOS]
