"""Contract tests: one runner of named checks, shared by the pytest plugin and ``martech-bus contract-test``.

```python
from martech_bus.contract import Contract, ContractRoots

results = Contract(ContractRoots.resolve()).run()
failed = [r for r in results if not r.passed]
```
"""

from __future__ import annotations

from martech_bus.contract.model import Check, CheckFailed, CheckResult
from martech_bus.contract.runner import Contract, ContractRoots

__all__ = ["Check", "CheckFailed", "CheckResult", "Contract", "ContractRoots"]
