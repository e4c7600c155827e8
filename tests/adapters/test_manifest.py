"""Manifest loading: every repository manifest loads; every kind of mistake is named and located."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from martech_bus.adapter import Adapter, SecretReference, load_adapter
from martech_bus.errors import ConfigError, MappingError
from tests.adapters.helpers import (
    MANIFEST,
    MAPPING,
    load_error,
    problems,
    registry,
    repo_adapters,
    scratch_adapter,
    the_problem,
)


@pytest.mark.parametrize("adapter", repo_adapters(), ids=lambda a: a.name)
def test_every_repository_manifest_loads_with_its_pinned_mappings(adapter: Adapter) -> None:
    manifest = adapter.manifest
    assert manifest.name == adapter.directory.name
    for event, version in manifest.mappings.items():
        assert adapter.specs[event].mapping_version == version
        assert adapter.specs[event].event == event


@pytest.mark.parametrize("adapter", repo_adapters(), ids=lambda a: a.name)
def test_temporary_integrations_carry_an_expiry_and_a_migration_plan(adapter: Adapter) -> None:
    manifest = adapter.manifest
    if manifest.cadence in ("sprint", "hybrid"):
        assert manifest.expires_on is not None and manifest.migration_plan is not None


def test_a_manifest_loads_into_a_typed_model(tmp_path: Path) -> None:
    manifest = load_adapter(scratch_adapter(tmp_path)).manifest
    assert manifest.expires_on == date(2027, 3, 31)
    assert manifest.endpoint.auth is not None
    assert manifest.endpoint.auth.secret == SecretReference("env", "ACME_TOKEN")
    assert manifest.batch.max_events == 10
    assert manifest.consent.purposes == ("analytics",)
    assert manifest.mappings == {"order_completed": 2}
    assert not manifest.expired(date(2027, 3, 31))
    assert manifest.expired(date(2027, 4, 1))


def test_the_pin_chooses_among_coexisting_versions_of_a_mapping(tmp_path: Path) -> None:
    files = {
        "order_completed.yaml": MAPPING.format(version=3, event="order_completed"),
        "order_completed.v2.yaml": MAPPING.format(version=2, event="order_completed"),
    }
    adapter = load_adapter(scratch_adapter(tmp_path, mappings=files))
    assert str(adapter.specs["order_completed"].file).endswith("order_completed.v2.yaml")


def test_load_adapter_accepts_the_manifest_file_itself(tmp_path: Path) -> None:
    folder = scratch_adapter(tmp_path)
    assert load_adapter(folder / "adapter.yaml").directory == folder


# -- one test per kind of mistake ---------------------------------------------------------------


def test_a_missing_required_key_is_named_with_its_place(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("display_name: Acme Analytics\n", "")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "display_name")
    assert "missing required key 'display_name'" in str(problem)
    assert str(problem).startswith(f"{tmp_path}/acme/adapter.yaml:1:1")


def test_an_unknown_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    manifest = MANIFEST + "retyr: {max_attempts: 3}\n"
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "retyr")
    assert "unknown key 'retyr' at the top level; did you mean 'retry'?" in problem.message
    assert problem.location.line == 24


def test_an_unknown_nested_key_names_its_full_key_path(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("    scheme: bearer\n", "    scheme: bearer\n    sceret: x\n")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "did you mean 'secret'?" in the_problem(error, "endpoint.auth.sceret").message


def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("max_events: 10", "max_events: ten")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "batch.max_events")
    assert "must be an integer >= 1, got str 'ten'" in problem.message
    assert (problem.location.line, problem.location.column) == (17, 15)


def test_a_pinned_mapping_version_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("order_completed: 2", "order_completed: 9")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "mappings.order_completed")
    assert "pins order_completed mapping version 9" in problem.message
    assert "versions found: 2" in problem.message
    assert problem.location.line == 23


def test_a_pinned_event_without_any_mapping_file_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST + "  page_viewed: 1\n"
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "versions found: none" in the_problem(error, "mappings.page_viewed").message


def test_a_mapping_file_for_another_event_is_refused(tmp_path: Path) -> None:
    files = {"order_completed.yaml": MAPPING.format(version=2, event="page_viewed")}
    error = load_error(scratch_adapter(tmp_path, mappings=files))
    problem = the_problem(error, "mappings.order_completed")
    assert "maps 'page_viewed' events, not 'order_completed'" in problem.message


def test_a_versioned_file_name_must_match_its_mapping_version(tmp_path: Path) -> None:
    files = {
        "order_completed.yaml": MAPPING.format(version=2, event="order_completed"),
        "order_completed.v1.yaml": MAPPING.format(version=3, event="order_completed"),
    }
    error = load_error(scratch_adapter(tmp_path, mappings=files))
    assert "name it order_completed.v3.yaml" in str(error)


def test_a_broken_pinned_mapping_reports_its_own_file_and_line(tmp_path: Path) -> None:
    files = {
        "order_completed.yaml": MAPPING.format(version=2, event="order_completed")
        + "  x: {paht: a}\n"
    }
    error = load_error(scratch_adapter(tmp_path, mappings=files))
    (problem,) = problems(error)
    assert problem.location.file == f"{tmp_path}/acme/mappings/order_completed.yaml"
    assert problem.location.line == 8
    assert "'paht' looks like the directive key 'path'" in problem.message


@pytest.mark.parametrize("cadence", ["sprint", "hybrid"])
def test_a_temporary_integration_without_expiry_or_plan_is_refused(
    tmp_path: Path, cadence: str
) -> None:
    manifest = (
        MANIFEST.replace("cadence: sprint", f"cadence: {cadence}")
        .replace('expires_on: "2027-03-31"\n', "")
        .replace("migration_plan: https://wiki.example.com/acme/migration\n", "")
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert f"a {cadence} integration is temporary" in the_problem(error, "expires_on").message
    assert the_problem(error, "migration_plan").location.line == 1


def test_a_marathon_integration_needs_no_expiry(tmp_path: Path) -> None:
    manifest = (
        MANIFEST.replace("cadence: sprint", "cadence: marathon")
        .replace('expires_on: "2027-03-31"\n', "")
        .replace("migration_plan: https://wiki.example.com/acme/migration\n", "")
    )
    assert load_adapter(scratch_adapter(tmp_path, manifest)).manifest.expires_on is None


def test_an_unquoted_date_is_refused_by_the_yaml_loader(tmp_path: Path) -> None:
    manifest = MANIFEST.replace('"2027-03-31"', "2027-03-31")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "quote it" in error.message and error.location.line == 7


def test_an_impossible_date_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace('"2027-03-31"', '"2027-02-30"')
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "YYYY-MM-DD" in the_problem(error, "expires_on").message


def test_a_literal_secret_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("secret: env:ACME_TOKEN", "secret: sk_live_123")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "secrets never live in a manifest" in the_problem(error, "endpoint.auth.secret").message


def test_a_malformed_secret_reference_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("secret: env:ACME_TOKEN", "secret: 'secretsmanager:acme#'")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "needs a name (and a key after '#')" in str(error)


def test_auth_without_the_name_its_scheme_needs_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("scheme: bearer", "scheme: query")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "query auth needs 'param'" in the_problem(error, "endpoint.auth.param").message


def test_a_url_placeholder_must_be_a_declared_param(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("v1/{account}/events", "v1/{acount}/events")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "endpoint.url")
    assert "{acount} is not declared in endpoint.params; did you mean 'account'?" in problem.message


def test_a_declared_param_nothing_reads_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace(
        "    account: env:ACME_ACCOUNT\n", "    account: env:A\n    region: eu\n"
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "declared but never used" in the_problem(error, "endpoint.params.region").message


def test_a_plain_http_vendor_url_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("https://api.acme", "http://api.acme")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "use https" in the_problem(error, "endpoint.url").message


def test_a_header_set_twice_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("  auth:\n", "  headers:\n    authorization: x\n  auth:\n")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "also set in endpoint.headers" in the_problem(error, "endpoint.auth").message


def test_several_payloads_need_an_envelope(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("  envelope:\n    events: {path: items}\n", "")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "an envelope must say how" in the_problem(error, "batch.envelope").message


def test_an_envelope_field_from_one_payload_needs_one_event_per_request(tmp_path: Path) -> None:
    manifest = MANIFEST.replace(
        "    events: {path: items}\n",
        "    events: {path: items}\n    client_id: {path: 'items[0].client_id'}\n",
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "batch.envelope.client_id")
    assert "use max_events: 1" in problem.message
    assert problem.location.line == 20


def test_an_envelope_reads_only_items_and_declared_params(tmp_path: Path) -> None:
    manifest = MANIFEST.replace(
        "    events: {path: items}\n",
        "    events: {path: items}\n    key: {path: params.api_key}\n    at: {path: occurred_at}\n",
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert (
        "not one of endpoint.params (account)" in the_problem(error, "batch.envelope.key").message
    )
    assert "can only read items" in the_problem(error, "batch.envelope.at").message


def test_an_envelope_that_drops_the_payloads_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("    events: {path: items}\n", "    version: 2\n")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "never reads items" in the_problem(error, "batch.envelope").message


def test_a_mapping_language_error_in_the_envelope_names_the_manifest_key(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("{path: items}", "{paht: items}")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "batch.envelope.events.paht")
    assert problem.location.file == f"{tmp_path}/acme/adapter.yaml"
    assert problem.location.line == 19


def test_unknown_retry_settings_and_bad_values_are_refused(tmp_path: Path) -> None:
    manifest = MANIFEST + "retry:\n  max_attempt: 3\n  base_delay: -1\n"
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "did you mean 'max_attempts'?" in the_problem(error, "retry.max_attempt").message
    assert "must be a number >= 0" in the_problem(error, "retry.base_delay").message


def test_error_in_200_needs_a_value_to_compare_with(tmp_path: Path) -> None:
    manifest = MANIFEST + "error_in_200: {path: status, when: equals}\n"
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "needs the value" in the_problem(error, "error_in_200.value").message


def test_a_consent_override_for_an_unmapped_event_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST.replace(
        "  purposes: [analytics]\n", "  purposes: [analytics]\n  events: {page_viewd: []}\n"
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert (
        "not an event this adapter maps" in the_problem(error, "consent.events.page_viewd").message
    )


def test_the_name_must_be_the_folder_name(tmp_path: Path) -> None:
    error = load_error(scratch_adapter(tmp_path, name="acme_v2"))
    assert "lives in 'acme_v2'/" in the_problem(error, "name").message


def test_an_invalid_payload_schema_is_reported_with_its_line(tmp_path: Path) -> None:
    folder = scratch_adapter(tmp_path)
    (folder / "payload.schema.json").write_text('{\n  "type": "object",\n}\n', encoding="utf-8")
    (problem,) = problems(load_error(folder))
    assert problem.location.file == str(folder / "payload.schema.json")
    assert problem.location.line == 3


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    manifest = (
        MANIFEST.replace("cadence: sprint", "cadence: sprnt")
        .replace("max_events: 10", "max_events: 0")
        .replace("order_completed: 2", "order_completed: 7")
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    paths = {p.location.path for p in problems(error)}
    assert {"cadence", "batch.max_events", "mappings.order_completed"} <= paths
    assert "did you mean 'sprint'?" in the_problem(error, "cadence").message
    assert error.message == f"{len(problems(error))} problems in the adapter"


def test_a_folder_without_a_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no adapter\.yaml here"):
        load_adapter(tmp_path)


# -- the loaded adapter ---------------------------------------------------------------------------


def test_a_mapping_is_compiled_once_and_cached(tmp_path: Path) -> None:
    adapter = load_adapter(scratch_adapter(tmp_path))
    assert adapter.mapping_for("order_completed") is adapter.mapping_for("order_completed")


def test_asking_for_an_unmapped_event_names_the_mapped_ones(tmp_path: Path) -> None:
    adapter = load_adapter(scratch_adapter(tmp_path))
    with pytest.raises(ConfigError, match="maps no 'page_viewed' events; it maps order_completed"):
        adapter.mapping_for("page_viewed")


def test_render_refuses_a_schema_version_the_mapping_was_not_written_for(tmp_path: Path) -> None:
    files = {
        "order_completed.yaml": MAPPING.replace("[1, 2]", "[2]").format(
            version=2, event="order_completed"
        )
    }
    adapter = load_adapter(scratch_adapter(tmp_path, mappings=files))
    event = {"event_type": "order_completed", "schema_version": 1, "event_id": "e-1"}
    with pytest.raises(
        MappingError, match="accepts order_completed schema versions 2; the event is version 1"
    ):
        adapter.render(event)


def test_build_body_wraps_a_batch_in_the_envelope(tmp_path: Path) -> None:
    adapter = load_adapter(scratch_adapter(tmp_path))
    assert adapter.build_body([{"n": 1}, {"n": 2}]) == {"events": [{"n": 1}, {"n": 2}]}


def test_build_body_refuses_more_payloads_than_max_events(tmp_path: Path) -> None:
    adapter = load_adapter(scratch_adapter(tmp_path))
    with pytest.raises(ValueError, match="1 to 10 payloads per request, got 11"):
        adapter.build_body([{}] * 11)


def test_without_an_envelope_the_one_payload_is_the_body(tmp_path: Path) -> None:
    manifest = MANIFEST.replace(
        "max_events: 10\n  envelope:\n    events: {path: items}\n", "max_events: 1\n"
    )
    adapter = load_adapter(scratch_adapter(tmp_path, manifest))
    payload = {"n": 1}
    assert adapter.build_body([payload]) is payload


def test_a_secret_param_in_the_body_renders_as_its_reference_unless_resolved() -> None:
    amplitude = next(a for a in repo_adapters() if a.name == "amplitude")
    assert amplitude.build_body([{"event_type": "x"}])["api_key"] == "env:AMPLITUDE_API_KEY"
    build = amplitude.body_builder({"api_key": "k-123"})
    assert build([{"event_type": "x"}]) == {"api_key": "k-123", "events": [{"event_type": "x"}]}


def test_the_endpoint_resolves_its_url_query_and_headers() -> None:
    meta = next(a for a in repo_adapters() if a.name == "meta_capi").manifest.endpoint
    secrets = {"env:META_PIXEL_ID": "1234/5", "env:META_ACCESS_TOKEN": "tok"}
    resolved = meta.resolve(secrets.__getitem__)
    assert resolved.url == "https://graph.facebook.com/v19.0/1234%2F5/events"
    assert [str(ref) for ref in meta.secret_references()] == list(secrets)


def test_auth_converts_to_the_http_sink_settings() -> None:
    klaviyo = next(a for a in repo_adapters() if a.name == "klaviyo").manifest.endpoint
    assert klaviyo.auth is not None
    assert klaviyo.auth.sink_settings() == {
        "kind": "header",
        "secret": "ssm:/martech/klaviyo/private-api-key",
        "name": "Authorization",
        "prefix": "Klaviyo-API-Key ",
    }


def test_check_payload_names_the_json_pointer_of_each_problem() -> None:
    meta = next(a for a in repo_adapters() if a.name == "meta_capi")
    messages = meta.check_payload({"data": [{"event_name": "Purchase", "event_time": "soon"}]})
    assert "/data/0/event_time: 'soon' is not of type 'integer'" in messages
    assert any(m.startswith("/data/0: 'action_source' is a required property") for m in messages)


def test_fixtures_without_their_pair_are_reported(tmp_path: Path) -> None:
    folder = scratch_adapter(tmp_path)
    (folder / "fixtures").mkdir()
    (folder / "fixtures" / "lonely.input.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="fixture 'lonely' has no expected file"):
        load_adapter(folder).fixtures()


def test_the_pinned_mappings_accept_the_catalogue_versions_they_name() -> None:
    for adapter in repo_adapters():
        for event, spec in adapter.specs.items():
            known = {entry.version for entry in registry().versions(event)}
            assert set(spec.versions) <= known, f"{adapter.name}: {event}"


def test_signing_is_declared_as_data_with_the_stripe_scheme_by_default(tmp_path: Path) -> None:
    manifest = MANIFEST + "signing: {header: X-Signature, secret: env:ACME_SIGNING_KEY}\n"
    signing = load_adapter(scratch_adapter(tmp_path, manifest)).manifest.signing
    assert signing is not None
    assert (signing.header, signing.scheme, signing.payload) == (
        "X-Signature",
        "t={ts},v1={hex}",
        "{ts}.{body}",
    )
    assert signing.secret == SecretReference("env", "ACME_SIGNING_KEY")


def test_a_signing_scheme_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST + 'signing: {header: X-Sig, secret: env:K, scheme: "v1={digest}"}\n'
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "unknown placeholder {digest}" in the_problem(error, "signing.scheme").message


def test_query_and_header_references_resolve_and_literals_stay() -> None:
    ga4 = next(a for a in repo_adapters() if a.name == "ga4").manifest.endpoint
    resolved = ga4.resolve({"env:GA4_MEASUREMENT_ID": "G-123"}.__getitem__)
    assert resolved.query == {"measurement_id": "G-123"}
    klaviyo = next(a for a in repo_adapters() if a.name == "klaviyo").manifest.endpoint
    assert klaviyo.resolve(str).headers["revision"] == "2024-10-15"


# -- governance ---------------------------------------------------------------------------------

GOVERNANCE = """\
governance:
  scores: {risk_compliance: 1, data_maturity: 1, integration_complexity: 1, business_impact: 1}
  risks: {privacy: 3, vendor_lock_in: 2, performance: 1, observability: 2}
"""


def test_the_governance_block_loads_into_scores_and_risks(tmp_path: Path) -> None:
    governance = load_adapter(scratch_adapter(tmp_path, MANIFEST + GOVERNANCE)).manifest.governance
    assert governance is not None
    assert governance.scores.total() == 4
    assert governance.risks.as_dict() == {
        "privacy": 3,
        "vendor_lock_in": 2,
        "performance": 1,
        "observability": 2,
    }
    assert (governance.line, governance.column) == (25, 3)


def test_a_manifest_without_a_governance_block_still_loads(tmp_path: Path) -> None:
    # Required by the contract checks (governance_problems), not by the loader: a running
    # Lambda must not break because an older manifest lacks scores.
    assert load_adapter(scratch_adapter(tmp_path)).manifest.governance is None


def test_a_score_outside_0_to_3_is_refused_with_its_place(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.replace("business_impact: 1", "business_impact: 4")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "governance.scores.business_impact")
    assert "must be an integer from 0 to 3, got int 4" in problem.message
    assert (problem.location.line, problem.location.column) == (25, 94)


def test_a_risk_outside_1_to_5_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.replace("performance: 1", "performance: 0")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "from 1 to 5" in the_problem(error, "governance.risks.performance").message


def test_a_score_written_as_text_or_a_boolean_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.replace("data_maturity: 1", "data_maturity: 'high'").replace(
        "risk_compliance: 1", "risk_compliance: true"
    )
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "got str 'high'" in the_problem(error, "governance.scores.data_maturity").message
    assert "from 0 to 3" in the_problem(error, "governance.scores.risk_compliance").message


def test_a_missing_score_is_named(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.replace(" integration_complexity: 1,", "")
    error = load_error(scratch_adapter(tmp_path, manifest))
    problem = the_problem(error, "governance.scores.integration_complexity")
    assert "missing required key 'integration_complexity'" in problem.message


def test_an_unknown_governance_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.replace("privacy:", "privcy:")
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "did you mean 'privacy'?" in the_problem(error, "governance.risks.privcy").message


def test_governance_needs_both_scores_and_risks(tmp_path: Path) -> None:
    manifest = MANIFEST + "governance:\n" + GOVERNANCE.splitlines(keepends=True)[1]
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert "missing required key 'risks'" in the_problem(error, "governance.risks").message


def test_the_circuit_breaker_defaults_to_five_failures_and_thirty_seconds(tmp_path: Path) -> None:
    breaker = load_adapter(scratch_adapter(tmp_path)).manifest.circuit_breaker
    assert (breaker.failures, breaker.reset_seconds) == (5, 30.0)


def test_a_circuit_breaker_section_sets_the_threshold_and_the_reset(tmp_path: Path) -> None:
    manifest = MANIFEST + "circuit_breaker: {failures: 2, reset_seconds: 1.5}\n"
    breaker = load_adapter(scratch_adapter(tmp_path, manifest)).manifest.circuit_breaker
    assert (breaker.failures, breaker.reset_seconds) == (2, 1.5)


def test_a_circuit_breaker_without_failures_to_count_is_refused(tmp_path: Path) -> None:
    manifest = MANIFEST + "circuit_breaker: {failures: 0}\n"
    error = load_error(scratch_adapter(tmp_path, manifest))
    assert the_problem(error, "circuit_breaker.failures")
