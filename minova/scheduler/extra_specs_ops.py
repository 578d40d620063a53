"""Matching an aggregate's metadata value against a flavor extra spec, with
the operators Nova accepts: `<in>`, `<all-in>`, `<or>`, `s==` and friends,
numeric `==`, `!=`, `>=`, `<=`, and `=` (numeric at least). A bare value
must equal the metadata value."""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


def _num(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def check(value: str, wanted: str) -> bool:
        try:
            return op(float(value), float(wanted))
        except ValueError:
            return False
    return check


_OPS: dict[str, Callable[[str, str], bool]] = {
    '=': _num(operator.ge),
    '==': _num(operator.eq), '!=': _num(operator.ne),
    '>=': _num(operator.ge), '<=': _num(operator.le),
    's==': operator.eq, 's!=': operator.ne, 's<': operator.lt, 's<=': operator.le,
    's>': operator.gt, 's>=': operator.ge,
    '<in>': lambda v, w: w in v,
}


def match(value: Any, req: str) -> bool:
    value = str(value)
    words = req.split()
    if not words:
        return value == req
    op = words[0]
    if op == '<or>':
        return value in words[1::2]
    if op == '<all-in>':
        return all(w in value for w in words[1:])
    if op in _OPS and len(words) >= 2:
        return _OPS[op](value, ' '.join(words[1:]))
    return value == req
