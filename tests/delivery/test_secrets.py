"""Secret references: env, Secrets Manager and SSM (on the local moto server), cached, never printed."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.config import Config

from martech_bus.errors import ConfigError
from martech_bus.secrets import (
    Secret,
    SecretRef,
    SecretResolver,
    SecretSource,
    SecretUnavailableError,
)
from martech_bus.testing.aws import FAKE_CREDENTIALS, REGION, AwsEndpoint, free_port
from tests.delivery.helpers import FakeTime

TOKEN = "tok-3f9a1c77e2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env:META_ACCESS_TOKEN", SecretRef(SecretSource.ENV, "META_ACCESS_TOKEN")),
        (
            "secretsmanager:prod/meta#token",
            SecretRef(SecretSource.SECRETS_MANAGER, "prod/meta", "token"),
        ),
        ("ssm:/martech/meta/token", SecretRef(SecretSource.SSM, "/martech/meta/token")),
    ],
)
def test_a_reference_parses_and_prints_back(text: str, expected: SecretRef) -> None:
    assert SecretRef.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["META_TOKEN", "vault:x", "env:", "secretsmanager:prod/meta#"])
def test_a_malformed_reference_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="secret reference"):
        SecretRef.parse(text)


def test_a_secret_prints_as_stars_whatever_the_formatting() -> None:
    secret = Secret(TOKEN)
    assert repr(secret) == str(secret) == f"{secret}" == "***"
    assert TOKEN not in repr([secret, {"token": secret}])
    assert secret.reveal() == TOKEN


def test_an_env_reference_reads_the_environment() -> None:
    resolver = SecretResolver(environ={"META_TOKEN": TOKEN})
    assert resolver.resolve("env:META_TOKEN").reveal() == TOKEN


def test_a_missing_env_secret_is_a_config_error_naming_the_reference() -> None:
    with pytest.raises(ConfigError, match="env:META_TOKEN"):
        SecretResolver(environ={}).resolve("env:META_TOKEN")


def test_secrets_manager_json_key_is_picked(aws: AwsEndpoint) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="prod/meta", SecretString=json.dumps({"token": TOKEN, "other": "x"}))
    resolver = SecretResolver(secretsmanager_client=client)
    assert resolver.resolve("secretsmanager:prod/meta#token").reveal() == TOKEN


def test_a_plain_secrets_manager_string_is_the_secret(aws: AwsEndpoint) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="prod/klaviyo", SecretString=TOKEN)
    assert SecretResolver(client).resolve("secretsmanager:prod/klaviyo").reveal() == TOKEN


def test_a_missing_secrets_manager_secret_names_the_reference(aws: AwsEndpoint) -> None:
    resolver = SecretResolver(secretsmanager_client=aws.client("secretsmanager"))
    with pytest.raises(ConfigError, match="secretsmanager:prod/nothing") as raised:
        resolver.resolve("secretsmanager:prod/nothing")
    assert "ResourceNotFoundException" in str(raised.value)


def test_a_missing_json_key_names_the_reference_but_not_the_value(aws: AwsEndpoint) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="prod/meta", SecretString=json.dumps({"token": TOKEN}))
    with pytest.raises(ConfigError, match="prod/meta#pixel") as raised:
        SecretResolver(client).resolve("secretsmanager:prod/meta#pixel")
    assert TOKEN not in str(raised.value)


def test_a_key_into_a_secret_that_is_not_json_is_a_config_error(aws: AwsEndpoint) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="prod/plain", SecretString=TOKEN)
    with pytest.raises(ConfigError, match="not a JSON object") as raised:
        SecretResolver(client).resolve("secretsmanager:prod/plain#token")
    assert TOKEN not in str(raised.value)


def test_an_ssm_secure_string_is_decrypted(aws: AwsEndpoint) -> None:
    client = aws.client("ssm")
    client.put_parameter(Name="/martech/meta/token", Value=TOKEN, Type="SecureString")
    resolver = SecretResolver(ssm_client=client)
    assert resolver.resolve("ssm:/martech/meta/token").reveal() == TOKEN


def test_a_missing_ssm_parameter_names_the_reference(aws: AwsEndpoint) -> None:
    resolver = SecretResolver(ssm_client=aws.client("ssm"))
    with pytest.raises(ConfigError, match="ssm:/martech/none"):
        resolver.resolve("ssm:/martech/none")


def test_values_are_cached_until_the_ttl_passes(aws: AwsEndpoint, fake_time: FakeTime) -> None:
    client = aws.client("ssm")
    client.put_parameter(Name="/t", Value="first-value", Type="SecureString")
    resolver = SecretResolver(ssm_client=client, clock=fake_time.clock, ttl=300)
    assert resolver.resolve("ssm:/t").reveal() == "first-value"
    client.put_parameter(Name="/t", Value="rotated-value", Type="SecureString", Overwrite=True)
    fake_time.advance(299)
    assert resolver.resolve("ssm:/t").reveal() == "first-value"
    fake_time.advance(1)
    assert resolver.resolve("ssm:/t").reveal() == "rotated-value"


def test_invalidate_forgets_a_cached_value(aws: AwsEndpoint) -> None:
    client = aws.client("ssm")
    client.put_parameter(Name="/t", Value="first-value", Type="SecureString")
    resolver = SecretResolver(ssm_client=client)
    resolver.resolve("ssm:/t")
    client.put_parameter(Name="/t", Value="rotated-value", Type="SecureString", Overwrite=True)
    resolver.invalidate("ssm:/t")
    assert resolver.resolve("ssm:/t").reveal() == "rotated-value"


def test_an_unreachable_aws_endpoint_is_transient() -> None:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name=REGION,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
        **FAKE_CREDENTIALS,
    )
    with pytest.raises(SecretUnavailableError, match="secretsmanager:prod/meta"):
        SecretResolver(client).resolve("secretsmanager:prod/meta")


def test_aws_clients_are_created_lazily_from_the_environment(
    aws: AwsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.client("ssm").put_parameter(Name="/lazy", Value=TOKEN, Type="SecureString")
    environment: dict[str, Any] = {
        "AWS_ENDPOINT_URL": aws.url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert SecretResolver().resolve("ssm:/lazy").reveal() == TOKEN


def test_resolving_an_env_secret_never_imports_boto3() -> None:
    probe = (
        "import sys; from martech_bus.secrets import SecretResolver; "
        "SecretResolver(environ={'T': 'value'}).resolve('env:T'); "
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
