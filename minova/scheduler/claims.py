"""Claims in flight: what lets concurrent select_destinations overlap.

A request reads placement's allocation candidates without the scheduler's
lock, so several read while others claim. This scheduler notes each claim it
makes from the moment a host is chosen until no running request can have
missed it. A request then sees the room on a host as placement's summary
less the claims its read may not include, by when each claim happened
against the read (one counter orders both):

- landed before the read was sent: in the summary, nothing to take off;
- chosen after the answer came back: not in it, taken off (`sure`);
- anything else was in flight while placement answered, in the summary or
  not: taken off too (`maybe`), so a burst spreads over equal hosts, but a
  host that fits only when such a claim is not counted twice is still tried,
  last. Placement's claim decides in every case: no over-commit here.

Not thread-safe: the scheduler calls it under its lock.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

Resources = dict[str, int]


@dataclass(slots=True)
class _Claim:
    node: str
    resources: Resources
    chosen: int
    landed: int | None = None     # None: placement has not answered yet


@dataclass(slots=True)
class Read:
    """One request's read of the candidates: when it was sent and answered."""
    sent: int
    answered: int = 0
    touched: set[str] = field(default_factory=set)   # nodes it adjusted so far


@dataclass(slots=True)
class Unseen:
    """Per node, what a read may not include: `sure` is not in it, `maybe`
    may or may not be (summed resources, and the number of claims)."""
    sure: dict[str, Resources] = field(default_factory=dict)
    maybe: dict[str, Resources] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)


def _add(into: dict[str, Resources], node: str, resources: Resources) -> None:
    acc = into.setdefault(node, {})
    for rc, n in resources.items():
        acc[rc] = acc.get(rc, 0) + n


class Ledger:
    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._claims: dict[int, _Claim] = {}
        self._reads: dict[int, Read] = {}

    def __len__(self) -> int:
        return len(self._claims)

    def begin_read(self) -> tuple[int, Read]:
        """Just before a request asks placement for candidates."""
        read = Read(sent=next(self._seq))
        key = next(self._ids)
        self._reads[key] = read
        return key, read

    def hold(self, sent: int) -> int:
        """Keep every claim that lands after `sent` until end_read(key): an
        answer that later requests may still use (the scheduler's recent
        answers) needs them counted against it."""
        key = next(self._ids)
        self._reads[key] = Read(sent=sent)
        return key

    def answered(self, read: Read) -> None:
        read.answered = next(self._seq)

    def end_read(self, key: int) -> None:
        self._reads.pop(key, None)
        self._prune()

    def unseen(self, read: Read) -> Unseen:
        out = Unseen()
        for claim in self._claims.values():
            if claim.landed is not None and claim.landed < read.sent:
                continue
            _add(out.sure if claim.chosen > read.answered else out.maybe,
                 claim.node, claim.resources)
            out.count[claim.node] = out.count.get(claim.node, 0) + 1
        return out

    def choose(self, node: str, resources: Resources) -> int:
        """A claim about to be sent to placement: its id."""
        key = next(self._ids)
        self._claims[key] = _Claim(node, dict(resources), chosen=next(self._seq))
        return key

    def landed(self, key: int) -> None:
        claim = self._claims.get(key)
        if claim is not None:
            claim.landed = next(self._seq)
        self._prune()

    def forget(self, key: int) -> None:
        """A claim placement refused, or one removed again."""
        self._claims.pop(key, None)

    def _prune(self) -> None:
        # A landed claim matters only to reads sent before it landed.
        oldest = min((r.sent for r in self._reads.values()), default=None)
        for key in [k for k, c in self._claims.items() if c.landed is not None
                    and (oldest is None or c.landed < oldest)]:
            del self._claims[key]
