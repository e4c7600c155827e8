"""Test helpers for martech-bus and for users' own tests: real local endpoints, no mocks."""
