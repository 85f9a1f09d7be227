"""The console's settings in AWS: the CSRF key, the hosted-UI client and the redirect URI come
from one Secrets Manager secret (moto), read once per container; locally from the variables."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from moto import mock_aws

from ventas.console.settings import HOSTED, ConsoleSettings

KEY = "k" * 64
REDIRECT = "https://abc123.execute-api.us-east-1.amazonaws.com/api/console/auth/callback"
STORED = {"csrf_key": KEY, "client_id": "hosted123", "redirect_uri": REDIRECT}
HOSTED_ENV = {
    "VD_CONSOLE_SIGNIN": "hosted",
    "VD_CONSOLE_HOSTED_DOMAIN": "https://vd-test.auth.us-east-1.amazoncognito.com/",
    "VD_CONSOLE_BASE_PATH": "/api",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    credentials = {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in {**credentials, **HOSTED_ENV}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "VD_CONSOLE_SECRET", "VD_CONSOLE_SECRET_ID", "VD_CONSOLE_CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("VD_CONSOLE_REDIRECT_URI", raising=False)
    parameters.clear_caches()
    with mock_aws():
        yield
    parameters.clear_caches()


def _secret(monkeypatch: pytest.MonkeyPatch, value: str, name: str = "vd-prod/console") -> str:
    arn: str = boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    monkeypatch.setenv("VD_CONSOLE_SECRET_ID", name)  # by name, as the template sets it
    return arn


def test_in_aws_key_client_and_redirect_come_from_the_secret(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _secret(monkeypatch, json.dumps(STORED))
    settings = ConsoleSettings.from_env()
    assert (settings.secret, settings.client_id, settings.redirect_uri) == (KEY, "hosted123", REDIRECT)
    assert (settings.signin, settings.base_path) == (HOSTED, "/api")
    assert settings.hosted_domain == "https://vd-test.auth.us-east-1.amazoncognito.com"
    assert KEY not in repr(settings)


def test_the_secret_is_read_once_per_container(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = _secret(monkeypatch, json.dumps(STORED))
    assert ConsoleSettings.from_env().secret == KEY
    rotated = json.dumps(STORED | {"csrf_key": "n" * 64})
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=rotated)
    assert ConsoleSettings.from_env().secret == KEY  # cached: open forms keep their tokens
    parameters.clear_caches()  # a new container
    assert ConsoleSettings.from_env().secret == "n" * 64


def test_the_secret_wins_over_the_variables(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VD_CONSOLE_SECRET", "p" * 40)
    monkeypatch.setenv("VD_CONSOLE_CLIENT_ID", "other")
    _secret(monkeypatch, json.dumps(STORED))
    settings = ConsoleSettings.from_env()
    assert (settings.secret, settings.client_id) == (KEY, "hosted123")


def test_locally_the_variables_are_the_settings(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VD_CONSOLE_SECRET", "p" * 40)
    monkeypatch.setenv("VD_CONSOLE_CLIENT_ID", "local-client")
    settings = ConsoleSettings.from_env()
    assert (settings.secret, settings.client_id, settings.redirect_uri) == ("p" * 40, "local-client", "")


@pytest.mark.parametrize(
    "stored",
    [STORED | {"csrf_key": "short"}, {"client_id": "hosted123"}, STORED | {"csrf_key": ""}],
    ids=["short", "missing", "empty"],
)
def test_a_short_or_missing_key_in_the_secret_is_refused(
    aws: None, monkeypatch: pytest.MonkeyPatch, stored: dict[str, str]
) -> None:
    _secret(monkeypatch, json.dumps(stored))
    with pytest.raises(ValueError, match="at least 32 characters"):
        ConsoleSettings.from_env()


@pytest.mark.parametrize("raw", ["not json", json.dumps(["a"]), json.dumps(STORED | {"client_id": 7})])
def test_a_malformed_secret_is_refused(aws: None, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    _secret(monkeypatch, raw)
    with pytest.raises(ValueError, match="console's secret"):
        ConsoleSettings.from_env()


def test_no_key_at_all_is_refused(aws: None) -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        ConsoleSettings.from_env()


def test_a_missing_secret_is_an_error_not_an_empty_key(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VD_CONSOLE_SECRET_ID", "vd-prod/none")
    with pytest.raises(GetParameterError):
        ConsoleSettings.from_env()


# Tiles and the execution link: what the template's parameters accept (tests/infra/test_console.py
# checks their AllowedPattern against these same examples).
GOOD_TILES = ("https://tiles.example.bo/{z}/{x}/{y}.png", "https://t.example:8443/osm/{z}/{x}/{y}.png?key=abc")
BAD_TILES = (
    "http://tiles.example.bo/{z}/{x}/{y}.png",  # not https
    "https://tiles.example.bo/{z}/{x}.png",  # no {y}
    "https://tiles.example.bo/{z}/{x}/{y}.png; script-src *",  # would add a CSP directive
    'https://tiles.example.bo/{z}/{x}/{y}.png" onload="x',
    "https://{z}{x}{y}",  # no host
)
GOOD_LINKS = (
    "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"
    "arn:aws:states:us-east-1:123456789012:execution:vd-prod-ventas-digitales:{request_id}",
    "https://sso.example.bo/start?destination=states%3A{request_id}",
)
BAD_LINKS = ("https://console.aws.amazon.com/states/home", "javascript:alert('{request_id}')", "http://x/{request_id}")


@pytest.mark.parametrize(
    ("url", "origin"), list(zip(GOOD_TILES, ("https://tiles.example.bo", "https://t.example:8443"), strict=True))
)
def test_a_tiles_url_is_read_and_its_origin_allowed(
    aws: None, monkeypatch: pytest.MonkeyPatch, url: str, origin: str
) -> None:
    monkeypatch.setenv("VD_CONSOLE_SECRET", KEY)
    monkeypatch.setenv("VD_CONSOLE_TILES_URL", url)
    settings = ConsoleSettings.from_env()
    assert (settings.tiles_url, settings.tiles_origin) == (url, origin)


@pytest.mark.parametrize("url", BAD_TILES)
def test_a_tiles_url_that_could_break_the_page_is_refused(aws: None, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("VD_CONSOLE_SECRET", KEY)
    monkeypatch.setenv("VD_CONSOLE_TILES_URL", url)
    with pytest.raises(ValueError, match="VD_CONSOLE_TILES_URL"):
        ConsoleSettings.from_env()


@pytest.mark.parametrize(
    ("link", "good"), [(link, True) for link in GOOD_LINKS] + [(link, False) for link in BAD_LINKS]
)
def test_an_execution_link_names_the_request(aws: None, monkeypatch: pytest.MonkeyPatch, link: str, good: bool) -> None:
    monkeypatch.setenv("VD_CONSOLE_SECRET", KEY)
    monkeypatch.setenv("VD_CONSOLE_EXECUTION_LINK", link)
    if good:
        assert ConsoleSettings.from_env().execution_link == link
    else:
        with pytest.raises(ValueError, match="VD_CONSOLE_EXECUTION_LINK"):
            ConsoleSettings.from_env()
