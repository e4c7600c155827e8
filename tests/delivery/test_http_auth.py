"""Auth kinds with secrets from env, Secrets Manager and SSM; the secret never leaks."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.errors import ConfigError
from martech_bus.retry import RetryPolicy
from martech_bus.secrets import SecretResolver
from martech_bus.sinks.base import Outcome, OutcomeKind
from martech_bus.sinks.http import AuthSpec, HttpEndpoint, HttpSink
from martech_bus.testing.aws import AwsEndpoint
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import delivery

TOKEN = "tok-5be1d9f0a7c3"
USER = "acct-8842"
ENV = {"ACME_TOKEN": TOKEN, "ACME_USER": USER}
BASIC = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()


def env_secrets() -> SecretResolver:
    return SecretResolver(environ=ENV)


def assert_no_leak(outcome: Outcome, caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    # Every record of this process, httpx's and httpcore's included; werkzeug's are the
    # fake vendor's own access log.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    shown = [repr(outcome), json.dumps(outcome.detail), *ours]
    for secret in secrets:
        for text in shown:
            assert secret not in text


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        (AuthSpec("bearer", "env:ACME_TOKEN"), "Authorization", f"Bearer {TOKEN}"),
        (AuthSpec("header", "env:ACME_TOKEN", name="X-Api-Key"), "X-Api-Key", TOKEN),
        (
            AuthSpec("header", "env:ACME_TOKEN", name="Authorization", prefix="Klaviyo-API-Key "),
            "Authorization",
            f"Klaviyo-API-Key {TOKEN}",
        ),
        (
            AuthSpec("basic", "env:ACME_TOKEN", username="env:ACME_USER"),
            "Authorization",
            f"Basic {BASIC}",
        ),
    ],
    ids=["bearer", "header", "header-prefix", "basic"],
)
def test_a_header_auth_kind_sends_the_secret(
    auth: AuthSpec, header: str, value: str, httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request("/events", headers={header: value}).respond_with_json({"ok": True})
    [outcome] = make_sink(auth=auth, secrets=env_secrets()).deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.DELIVERED


def test_query_auth_sends_the_secret_as_a_parameter_next_to_the_static_ones(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request(
        "/events", query_string={"access_token": TOKEN, "v": "19"}
    ).respond_with_json({"ok": True})
    auth = AuthSpec("query", "env:ACME_TOKEN", name="access_token")
    sink = make_sink(auth=auth, secrets=env_secrets(), params={"v": "19"})
    assert sink.deliver([delivery(1)])[0].kind is OutcomeKind.DELIVERED


def test_a_bearer_token_comes_from_secrets_manager(
    aws: AwsEndpoint, httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="prod/acme", SecretString=json.dumps({"token": TOKEN}))
    httpserver.expect_request(
        "/events", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"ok": True})
    sink = make_sink(
        auth=AuthSpec("bearer", "secretsmanager:prod/acme#token"),
        secrets=SecretResolver(secretsmanager_client=client),
    )
    assert sink.deliver([delivery(1)])[0].kind is OutcomeKind.DELIVERED


def test_a_query_secret_comes_from_ssm(
    aws: AwsEndpoint, httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    client = aws.client("ssm")
    client.put_parameter(Name="/martech/acme/key", Value=TOKEN, Type="SecureString")
    httpserver.expect_request("/events", query_string={"key": TOKEN}).respond_with_json({})
    sink = make_sink(
        auth=AuthSpec("query", "ssm:/martech/acme/key", name="key"),
        secrets=SecretResolver(ssm_client=client),
    )
    assert sink.deliver([delivery(1)])[0].kind is OutcomeKind.DELIVERED


@pytest.mark.parametrize(
    "auth",
    [
        AuthSpec("bearer", "env:ACME_TOKEN"),
        AuthSpec("header", "env:ACME_TOKEN", name="X-Api-Key"),
        AuthSpec("query", "env:ACME_TOKEN", name="api_key"),
        AuthSpec("basic", "env:ACME_TOKEN", username="env:ACME_USER"),
    ],
    ids=["bearer", "header", "query", "basic"],
)
def test_the_secret_never_appears_in_outcomes_or_logs(
    auth: AuthSpec,
    httpserver: HTTPServer,
    make_sink: MakeSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"invalid credential {TOKEN} for {USER} ({BASIC})"  # a vendor that echoes it back
    httpserver.expect_ordered_request("/events").respond_with_data(echo, status=503)
    httpserver.expect_ordered_request("/events").respond_with_data(
        echo, status=401, headers={"X-Echo": TOKEN, "Set-Cookie": f"s={TOKEN}"}
    )
    [outcome] = make_sink(auth=auth, secrets=env_secrets()).deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.DEAD_LETTERED
    assert "invalid credential *** for" in outcome.detail["response"]["body"]
    assert_no_leak(outcome, caplog, *([TOKEN, BASIC] if auth.kind == "basic" else [TOKEN]))


def test_a_query_secret_is_redacted_from_the_recorded_url(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request("/events").respond_with_data("no", status=400)
    auth = AuthSpec("query", "env:ACME_TOKEN", name="api_key")
    [outcome] = make_sink(auth=auth, secrets=env_secrets(), params={"v": "2"}).deliver(
        [delivery(1)]
    )
    assert outcome.detail["request"]["url"] == httpserver.url_for("/events") + "?v=2&api_key=***"


def test_auth_headers_are_masked_in_the_recorded_request(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request("/events").respond_with_data("no", status=403)
    auth = AuthSpec("header", "env:ACME_TOKEN", name="X-Api-Key")
    [outcome] = make_sink(auth=auth, secrets=env_secrets()).deliver([delivery(1)])
    assert outcome.detail["request"]["headers"]["x-api-key"] == "***"


def test_a_secret_missing_at_delivery_time_is_dead_lettered_naming_the_reference(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    sink = make_sink(auth=AuthSpec("bearer", "env:NOT_SET"), secrets=SecretResolver(environ={}))
    [outcome] = sink.deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.DEAD_LETTERED, 0)
    assert "env:NOT_SET" in (outcome.reason or "")
    assert httpserver.log == []


def test_a_401_refetches_a_rotated_secret_on_the_next_delivery(
    aws: AwsEndpoint, httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="prod/acme", SecretString="old-token-value")
    httpserver.expect_request(
        "/events", headers={"Authorization": "Bearer new-token-value"}
    ).respond_with_json({"ok": True})
    httpserver.expect_request("/events").respond_with_data("expired", status=401)
    sink = make_sink(
        auth=AuthSpec("bearer", "secretsmanager:prod/acme"),
        secrets=SecretResolver(secretsmanager_client=client, ttl=3600),
        policy=RetryPolicy(max_attempts=1),
    )
    assert sink.deliver([delivery(1)])[0].status_code == 401
    client.put_secret_value(SecretId="prod/acme", SecretString="new-token-value")
    assert sink.deliver([delivery(2)])[0].kind is OutcomeKind.DELIVERED


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"kind": "header", "secret": "env:T"}, "auth.name"),
        ({"kind": "query", "secret": "env:T"}, "auth.name"),
        ({"kind": "basic", "secret": "env:T"}, "auth.username"),
        ({"kind": "oauth", "secret": "env:T"}, "auth.kind"),
        ({"kind": "bearer", "secret": "vault:T"}, "secret reference"),
        ({"kind": "bearer", "secret": "env:T", "scheme": "x"}, "'scheme'"),
    ],
)
def test_a_bad_auth_setting_is_a_config_error(fields: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        AuthSpec.from_mapping(fields)


def test_a_sink_with_auth_needs_a_secret_resolver(make_sink: MakeSink) -> None:
    with pytest.raises(ConfigError, match="SecretResolver"):
        make_sink(auth=AuthSpec("bearer", "env:ACME_TOKEN"))


def test_the_sink_repr_shows_no_secret() -> None:
    import httpx

    endpoint = HttpEndpoint("https://api.example.com/v1/events", auth=AuthSpec("bearer", "env:T"))
    with httpx.Client() as client:
        sink = HttpSink(endpoint, client, secrets=SecretResolver(environ={"T": TOKEN}))
        assert TOKEN not in repr(sink)
        assert TOKEN not in repr(endpoint)


def test_httpx_request_logs_show_a_query_secret_redacted(
    httpserver: HTTPServer, make_sink: MakeSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    httpserver.expect_request("/events").respond_with_json({})
    auth = AuthSpec("query", "env:ACME_TOKEN", name="api_key")
    make_sink(auth=auth, secrets=env_secrets()).deliver([delivery(1)])
    [logged] = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert "api_key=***" in logged
