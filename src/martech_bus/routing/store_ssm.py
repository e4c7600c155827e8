"""SSM Parameter Store flag store: the production twin of the YAML file.

One ``String`` parameter per integration under a prefix: ``<prefix>/<vendor>`` or
``<prefix>/<source>/<vendor>``, its value the flag's fields as JSON
(``{"mode": "dual", "to": "bus", "percent": 25, "owner": "...", ...}``). The
flag's version is the parameter's version, so SSM's own parameter history is a
second record of every flip.

SSM has no conditional overwrite, so a flip is optimistic: it checks the version
it read, writes with ``Overwrite=True`` and checks that its write got the next
version. If another flip got in between, that flip stands: the store puts its
value back (unless a third write already followed) and refuses this flip with
FlagConflictError. A first flip creates the parameter with ``Overwrite=False``,
which SSM does make conditional.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Unpack

from martech_bus.awsapi import boto_errors, default_client
from martech_bus.errors import ConfigError, Location
from martech_bus.routing.flags import Flag, check_integration, flag_from_node, is_integration
from martech_bus.routing.store import FlagConflictError, FlagStore, StoreOptions
from martech_bus.yamlfile.nodes import from_python


class SsmFlagStore(FlagStore):
    """Flags as SSM parameters under ``prefix``; ``client`` is a boto3 SSM client."""

    def __init__(self, prefix: str, *, client: Any = None, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self.prefix = prefix.rstrip("/")
        if not self.prefix.startswith("/") or self.prefix == "":
            raise ConfigError(
                f"an SSM flag prefix is a path like /martech-bus/flags, not {prefix!r}"
            )
        self.name = f"ssm:{self.prefix}"
        self._client = default_client("ssm") if client is None else client
        self._what = f"SSM parameters under {self.prefix}"

    def parameter_for(self, integration: str) -> str:
        """The parameter that holds ``integration``'s flag."""
        return f"{self.prefix}/{integration.replace(':', '/')}"

    def _read(self, integration: str) -> Flag | None:
        if not is_integration(integration):  # not a name SSM could even hold
            return None
        with boto_errors(self._what):
            try:
                parameter = self._client.get_parameter(Name=self.parameter_for(integration))
            except self._client.exceptions.ParameterNotFound:
                return None
        return _flag(integration, parameter["Parameter"])

    def _read_all(self) -> list[Flag]:
        flags = []
        with boto_errors(self._what):
            pages = self._client.get_paginator("get_parameters_by_path").paginate(
                Path=self.prefix, Recursive=True
            )
            parameters = [parameter for page in pages for parameter in page["Parameters"]]
        for parameter in parameters:
            name = str(parameter["Name"])
            integration = name.removeprefix(self.prefix + "/").replace("/", ":")
            check_integration(integration, location=Location(file=name))
            flags.append(_flag(integration, parameter))
        return flags

    def _write(self, flag: Flag, expected_version: int) -> Flag:
        name = self.parameter_for(flag.integration)
        value = json.dumps(flag.fields(), ensure_ascii=False)
        client = self._client
        with boto_errors(self._what):
            found = self._version(name)
            if found != expected_version:
                raise _conflict(flag, found, expected_version)
            if expected_version == 0:
                try:
                    written = client.put_parameter(
                        Name=name,
                        Value=value,
                        Type="String",
                        Overwrite=False,
                        Description=f"martech-bus migration flag for {flag.integration}",
                    )
                except client.exceptions.ParameterAlreadyExists:
                    raise _conflict(flag, self._version(name), expected_version) from None
                return dataclasses.replace(flag, version=int(written["Version"]))
            written = client.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
            version = int(written["Version"])
            if version != expected_version + 1:  # another flip landed between the check and ours
                self._restore(name, version)
                raise _conflict(flag, version - 1, expected_version)
            return dataclasses.replace(flag, version=version)

    def _version(self, name: str) -> int:
        """The parameter's current version; 0 when it does not exist."""
        try:
            return int(self._client.get_parameter(Name=name)["Parameter"]["Version"])
        except self._client.exceptions.ParameterNotFound:
            return 0

    def _restore(self, name: str, ours: int) -> None:
        """Put back the flip that ``ours`` overwrote, unless a later write replaced ours already."""
        if self._version(name) != ours:
            return
        theirs = self._client.get_parameter(Name=f"{name}:{ours - 1}")["Parameter"]["Value"]
        self._client.put_parameter(Name=name, Value=theirs, Type="String", Overwrite=True)


def _flag(integration: str, parameter: Any) -> Flag:
    name = str(parameter["Name"])
    try:
        data = json.loads(parameter["Value"])
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"the flag is not JSON: {exc.msg}", location=Location(file=name)
        ) from None
    return flag_from_node(
        integration, from_python(data), file=name, version=int(parameter["Version"])
    )


def _conflict(flag: Flag, found: int, expected: int) -> FlagConflictError:
    return FlagConflictError(
        f"{flag.integration}: refused, the flag was flipped concurrently (version {found}, "
        f"expected {expected}); look again and retry"
    )
