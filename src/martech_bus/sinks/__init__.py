"""Sinks deliver already-built deliveries: vendor HTTP APIs, the Kafka bus, dead-letter stores.

Sinks never import ``mapping`` or ``schema``: the pipeline hands them payloads
that are ready to send.
"""
