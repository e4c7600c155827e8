"""CloudWatch Embedded Metric Format documents, checked against the EMF specification."""

from __future__ import annotations

import io
import json
from typing import Any

import jsonschema
import pytest

from martech_bus.observability.emf import EmfPublisher, to_emf
from martech_bus.observability.metrics import Metrics, MetricSpec, MetricsSnapshot
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.sinks.base import Outcome, OutcomeKind

NOW_MS = 1_763_640_000_123
UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
]  # fmt: skip

# The EMF specification's document structure (CloudWatch "Specification: Embedded metric format").
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
DIMENSION_VALUE = {"type": "string", "minLength": 1, "maxLength": 1024}
METRIC_VALUE = {
    "oneOf": [
        {"type": "number"},
        {"type": "array", "maxItems": 100, "minItems": 1, "items": {"type": "number"}},
    ]
}


def check(document: dict[str, Any]) -> None:
    """Valid per the spec, with every referenced dimension and metric a top-level member."""
    jsonschema.validate(document, EMF_SCHEMA)
    referenced: dict[str, Any] = {}
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            referenced.update(dict.fromkeys(dimension_set, DIMENSION_VALUE))
        for metric in directive["Metrics"]:
            referenced[metric["Name"]] = METRIC_VALUE
    jsonschema.validate(
        document, {"type": "object", "required": sorted(referenced), "properties": referenced}
    )


def pipeline_metrics() -> Metrics:
    metrics = Metrics()
    results = [
        EventResult("a", EventStatus.DELIVERED, None, (Outcome("a", OutcomeKind.DELIVERED, None, 2),)),
        EventResult("b", EventStatus.SKIPPED, None, (Outcome("b", OutcomeKind.SKIPPED, "consent denied: ads"),)),
        EventResult("c", EventStatus.SKIPPED, None, (Outcome("c", OutcomeKind.SKIPPED, "already delivered to acme"),)),
        EventResult(None, EventStatus.INVALID, "bad"),
    ]  # fmt: skip
    metrics.record_results(results, integration="acme", latency_ms=42.0)
    metrics.set_gauge("dlq_size", 3, integration="acme")
    metrics.set_gauge("buffer_oldest_age_ms", 1500, integration="acme")
    return metrics


@pytest.fixture
def documents() -> list[dict[str, Any]]:
    return to_emf(pipeline_metrics().snapshot(), timestamp_ms=NOW_MS)


def by_outcome(documents: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {document.get("outcome"): document for document in documents}


def test_documents_follow_the_emf_specification(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        check(document)


def test_the_timestamp_and_namespace_are_set(documents: list[dict[str, Any]]) -> None:
    assert {
        (d["_aws"]["Timestamp"], d["_aws"]["CloudWatchMetrics"][0]["Namespace"]) for d in documents
    } == {(NOW_MS, "martech-bus")}


def test_outcome_counts_use_both_dimension_sets(documents: list[dict[str, Any]]) -> None:
    skipped = by_outcome(documents)["skipped"]
    assert skipped["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["integration"],
        ["integration", "outcome"],
    ]


def test_labels_outside_the_dimensions_are_summed_away(documents: list[dict[str, Any]]) -> None:
    skipped = by_outcome(documents)["skipped"]
    assert (skipped["events"], "reason" in skipped) == (2, False)


def test_metrics_without_an_outcome_use_the_integration_only(
    documents: list[dict[str, Any]],
) -> None:
    plain = by_outcome(documents)[None]
    assert plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["integration"]]
    assert {k: plain[k] for k in ("events_received", "delivery_retries", "dlq_size")} == {
        "events_received": 4,
        "delivery_retries": 1,
        "dlq_size": 3,
    }


def test_units_are_count_or_milliseconds(documents: list[dict[str, Any]]) -> None:
    units = {
        m["Name"]: m["Unit"]
        for d in documents
        for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert (units["events"], units["delivery_latency_ms"], units["buffer_oldest_age_ms"]) == (
        "Count",
        "Milliseconds",
        "Milliseconds",
    )


def test_latency_is_published_as_its_values(documents: list[dict[str, Any]]) -> None:
    assert by_outcome(documents)[None]["delivery_latency_ms"] == [42.0]


def test_more_than_100_metrics_split_into_documents() -> None:
    specs = {f"m{i:03}": MetricSpec(f"m{i:03}", "counter", "Count", "x") for i in range(150)}
    metrics = Metrics(specs=specs)
    for name in specs:
        metrics.increment(name, integration="acme")
    documents = to_emf(metrics.snapshot(), timestamp_ms=NOW_MS)
    assert [len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in documents] == [100, 50]
    for document in documents:
        check(document)


def test_more_than_100_values_split_and_counters_appear_once() -> None:
    metrics = Metrics()
    for value in range(250):
        metrics.observe("delivery_latency_ms", float(value), integration="acme")
    metrics.increment("events_received", 7, integration="acme")
    documents = to_emf(metrics.snapshot(), timestamp_ms=NOW_MS)
    assert [len(d["delivery_latency_ms"]) for d in documents] == [100, 100, 50]
    assert [d.get("events_received") for d in documents] == [7, None, None]
    for document in documents:
        check(document)


def test_an_empty_snapshot_has_no_documents() -> None:
    assert to_emf(MetricsSnapshot(), timestamp_ms=NOW_MS) == []


def test_a_dimension_set_over_30_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 30 keys"):
        to_emf(MetricsSnapshot(), timestamp_ms=NOW_MS, dimensions=[[f"d{i}" for i in range(31)]])


def test_the_publisher_prints_one_json_line_per_document() -> None:
    stream = io.StringIO()
    written = EmfPublisher(stream=stream, clock=lambda: NOW_MS / 1000).flush(pipeline_metrics())
    lines = stream.getvalue().splitlines()
    assert written == len(lines) == 4
    assert {json.loads(line)["_aws"]["Timestamp"] for line in lines} == {NOW_MS}


def test_the_publisher_resets_counters_after_a_flush() -> None:
    metrics = pipeline_metrics()
    publisher = EmfPublisher(stream=io.StringIO(), clock=lambda: 0.0)
    publisher.flush(metrics)
    after = metrics.snapshot()
    assert (after.counters, after.histograms, after.value("dlq_size")) == ((), (), 3)


def test_the_publisher_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    EmfPublisher(clock=lambda: 0.0).flush(pipeline_metrics())
    assert capsys.readouterr().out.count("\n") == 4


def test_the_check_catches_a_referenced_metric_that_is_missing(
    documents: list[dict[str, Any]],
) -> None:
    broken = dict(documents[0])
    del broken["integration"]
    with pytest.raises(jsonschema.ValidationError, match="'integration' is a required property"):
        check(broken)
