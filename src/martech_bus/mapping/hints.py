"""'Did you mean' hints for misspelt directive keys, transform names and arguments."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""`` when none is close."""
    import difflib  # only on the error path: it is slow to import

    pool = sorted(set(candidates))
    folded = {_fold(c): c for c in pool}
    if _fold(word) in folded:
        return f"; did you mean {folded[_fold(word)]!r}?"
    close = [c for c in pool if is_near(word, c)] or difflib.get_close_matches(
        word, pool, n=1, cutoff=0.7
    )
    return f"; did you mean {close[0]!r}?" if close else ""


def is_near(word: str, target: str) -> bool:
    """Same up to case and ``-``/``_``, or one edit apart (insert, delete, change, swap)."""
    a, b = _fold(word), _fold(target)
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i = diff[0] if len(diff) == 2 else -1
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _fold(word: str) -> str:
    return word.casefold().replace("-", "_")
