"""The ``martech-bus`` command: ``martech-bus <noun> <verb>``.

Exit codes: 0 = ok, 1 = a check failed, 2 = bad input or usage.
"""
