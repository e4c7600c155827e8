"""Test helpers for martech-bus and for users' own tests: real local endpoints, no mocks.

``plugin`` is the pytest plugin (contract checks as test items, and the fixtures);
``harness`` runs the pipeline into memory or against a local vendor stub; ``kafka``
and ``aws`` start real local endpoints; ``clock`` is the fake time retries sleep on.
"""
