"""Property: a compiled mapping applied to *any* data returns a payload or raises MappingError.

It never leaks KeyError/TypeError/... and never leaks UNDEFINED into a payload.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from martech_bus.errors import MappingError
from martech_bus.mapping.compiler import CompiledMapping
from martech_bus.mapping.values import UNDEFINED
from tests.mapping.helpers import build, order_event

KEYS = (
    "event_id", "occurred_at", "user_id", "anonymous_id", "order_id", "total", "currency",
    "email", "phone", "products", "sku", "price", "quantity", "coupon", "name", "tags", "ip",
    "page", "url", "payment_method", "marketing", "t",
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["EUR", "JPY", "KWD", "usd", "", "  ", "card", "2024-05-01T12:00:00Z", "a@b.c"]
    ),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5))])),
    st.dates(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=12,
)
objects = st.dictionaries(keys, values, max_size=8)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a well-typed value (so later fields run too), sometimes anything at all."""
    return st.one_of(good, good, good, values)


aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]))
money = st.decimals(min_value=-(10**9), max_value=10**9, places=4)
TYPED = {
    "event_id": mostly(st.text(max_size=8)),
    "occurred_at": mostly(
        aware | aware.map(lambda d: d.isoformat()) | st.integers(-(2**40), 2**40)
    ),
    "user_id": mostly(st.none() | st.text(max_size=8)),
    "anonymous_id": mostly(st.none() | st.text(max_size=8)),
    "order_id": mostly(st.text(max_size=8)),
    "email": mostly(st.text(max_size=12)),
    "phone": mostly(st.text(max_size=12)),
    "total": mostly(money),
    "price": mostly(money),
    "currency": mostly(st.sampled_from(["EUR", "JPY", "KWD"])),
    "quantity": mostly(st.integers(-5, 100)),
    "sku": mostly(st.none() | st.text(max_size=6)),
    "coupon": mostly(st.none() | st.text(max_size=6)),
    "payment_method": mostly(st.sampled_from(["card", "paypal", "cash"])),
    "tags": mostly(st.lists(st.text(max_size=4), max_size=3)),
}


def shaped(*names: str) -> st.SearchStrategy[Any]:
    return mostly(st.fixed_dictionaries({n: TYPED.get(n, values) for n in names}))


products = mostly(st.lists(shaped("sku", "price", "quantity", "tags"), max_size=3))
events = st.one_of(
    st.fixed_dictionaries(
        {
            "event_id": TYPED["event_id"],
            "properties": mostly(
                st.fixed_dictionaries(
                    {}, optional={**{k: TYPED.get(k, values) for k in KEYS}, "products": products}
                )
            ),
        },
        optional={
            **{n: TYPED[n] for n in ("occurred_at", "user_id", "anonymous_id")},
            "consent": shaped("marketing"),
            "context": shaped("ip", "page"),
        },
    ),
    values,
)

KITCHEN_SINK = """
event_name: Purchase
event_time: {path: occurred_at, transform: [to_unix_seconds]}
millis: {path: occurred_at, transform: [to_unix_millis]}
iso: {path: occurred_at, transform: [iso8601]}
day: {path: occurred_at, transform: [{date_format: '%Y-%m-%d'}]}
ref: {template: '{{properties.order_id}}-{{event_id}}/{{consent.marketing}}'}
who: {coalesce: [user_id, anonymous_id, 'properties.products[0].name']}
user_data:
  em: [{path: properties.email, transform: [{sha256: email}]}]
  ph: [{path: properties.phone, transform: [{sha256: phone}]}]
  ip: {path: context.ip, drop_null: true}
custom_data:
  value: {path: properties.total, transform: [{round: 2}, {cast: float}], default: 0}
  cents: {path: properties.total, transform: [{minor_units: [{path: properties.currency}]}]}
  currency: {path: properties.currency, transform: [trim, upper, {truncate: 3}]}
  method: {path: properties.payment_method, transform: [{lookup: {table: methods, default: OTHER}}]}
  coupon:
    if: {path: properties.coupon, blank: false}
    then: {path: properties.coupon, transform: [{replace: {pattern: '\\s+', with: '-'}}, lower]}
    else: NONE
  big: {if: {path: properties.total, in: [1, 2, 'x']}, then: {literal: [1, {a: 2}]}}
  skus: {path: 'properties.products[*].sku', transform: [{join: ','}, {split: ','}]}
  contents:
    each: properties.products
    as:
      id: {path: sku, transform: [{cast: str}]}
      qty: {path: quantity, transform: [{cast: int}]}
      price: {path: price, transform: [{cast: float}]}
      cur: {path: $.properties.currency}
      tag_names: {each: tags, as: {path: $item, transform: [{concat: ['#', {path: $.user_id}]}]}}
      flag: {if: {path: price, not_equals: 0}, then: {path: $.consent.marketing, transform: [{cast: bool}]}}
  raw: {path: properties.tags, transform: [json_encode]}
  page: {object: {path: {path: context.page.url}, default: {literal: x}}}
event_id: {path: event_id, required: true}
"""

MAPPINGS: dict[str, CompiledMapping] = {
    "kitchen_sink": build(
        KITCHEN_SINK,
        lookups="lookups:\n  methods: {card: CREDIT, paypal: PAYPAL}\n",
        extra="drop_nulls: false\n",
    ),
    "meta_capi": build(
        """
        data:
          - event_name: Purchase
            event_time: {path: occurred_at, transform: [to_unix_seconds], required: true}
            event_id: {path: event_id}
            action_source: website
            user_data:
              em: [{path: properties.email, transform: [{sha256: email}]}]
              client_ip_address: {path: context.ip}
            custom_data:
              currency: {path: properties.currency}
              value: {path: properties.total, transform: [{cast: float}]}
        """,
        extra="drop_nulls: true\n",
    ),
    "line_items": build(
        """
        contents:
          each: properties.products
          as:
            id: {path: sku, transform: [{cast: str}, upper]}
            qty: {path: quantity, transform: [{cast: int}]}
            cents: {path: price, transform: [{minor_units: [{path: $.properties.currency}]}]}
            tags: {each: tags, as: {path: $item, transform: [{concat: ['#', {path: $.user_id}]}]}}
        """
    ),
    "pii_and_time": build(
        """
        em: {path: properties.email, transform: [{sha256: email}]}
        ph: {path: properties.phone, transform: [{sha256: phone}]}
        t: {path: occurred_at, transform: [iso8601]}
        """
    ),
    "plain_paths": build(
        """
        a: {path: properties.t}
        b: {path: 'properties.products[-1].sku'}
        c: {path: 'properties.products[*].tags[*].name'}
        d: {path: $}
        e: {template: '{{properties.products}}'}
        f: {each: 'properties.products[*].price', as: {path: $item, transform: [{round: 1}]}}
        """
    ),
}


def leaks_undefined(value: Any) -> bool:
    if value is UNDEFINED:
        return True
    if isinstance(value, dict):
        return any(leaks_undefined(v) for v in value.values())
    if isinstance(value, list):
        return any(leaks_undefined(v) for v in value)
    return False


@pytest.mark.parametrize("name", sorted(MAPPINGS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
@example(event=order_event())
@example(
    event=order_event(properties={**order_event()["properties"], "products": [{"tags": ["a"]}]})
)
def test_any_input_gives_a_payload_or_a_mapping_error(name: str, event: Any) -> None:
    try:
        payload = MAPPINGS[name](event)
    except MappingError:
        return
    assert isinstance(payload, dict)
    assert not leaks_undefined(payload)


def test_the_kitchen_sink_maps_a_real_order() -> None:
    payload = MAPPINGS["kitchen_sink"](order_event())
    assert payload["custom_data"]["cents"] == 5990
    assert payload["custom_data"]["contents"][0] == {
        "id": "SKU-1", "qty": 2, "price": 12.5, "cur": "EUR", "flag": True,
    }  # fmt: skip
    assert payload["event_id"] == order_event()["event_id"]
