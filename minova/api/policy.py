"""oslo.policy enforcement with Nova's rule names and defaults.

Defaults are code (minova/policies); operators override them with the file
named by `[oslo_policy] policy_file` as with Nova. As in current Nova, the new
defaults and scope checks are on: rules are project-scoped, so a
system-scoped token is refused, and the reader role may look but not act.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from minova import exception, policies
from minova.conf import CONF
from minova.context import RequestContext

_enforcer: _Enforcer | None = None
_lock = threading.Lock()


class PolicyNotAuthorized(exception.Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


# How often a check looks whether the policy file or directories changed.
RELOAD_CHECK_SECONDS = 1.0


# Decisions remembered between two looks at the policy file, at most.
MAX_DECISIONS = 4096
_INVALID_SCOPE = 'invalid-scope'


class _Enforcer(oslo_policy.Enforcer):
    """oslo.policy's Enforcer, looking at the policy file at most once a
    second and remembering its decisions until then.

    Its load_rules, run by every check, looks the file and the policy
    directories up on disk and walks every registered rule's deprecations,
    and each check of a rule inspects the check's signature: together most
    of a GET /servers/{id}'s CPU time. A decision depends only on the rule,
    the target and the caller's credentials (the checks mini-Nova's rules
    and policy files use are pure), so it is kept, keyed by all three, and
    forgotten whenever the rules are looked at again: a changed policy file
    is still obeyed within a second.
    """

    _checked = float('-inf')

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decisions: dict[Any, bool | str] = {}

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if force_reload or not self.rules or now - self._checked >= RELOAD_CHECK_SECONDS:
            super().load_rules(force_reload)
            self.decisions = {}
            self._checked = now

    def decide(self, action: str, target: dict[str, Any], ctx: RequestContext) -> bool | None:
        """Whether ctx may do action on target; None: the token's scope is wrong."""
        self.load_rules()
        creds = dict(ctx.to_policy_values())
        key = _key(action, target, creds)
        known = self.decisions.get(key) if key is not None else None
        if known is None:
            try:
                known = bool(self.authorize(action, target, creds, do_raise=False))
            except oslo_policy.InvalidScope:
                known = _INVALID_SCOPE
            if key is not None:
                if len(self.decisions) >= MAX_DECISIONS:
                    self.decisions = {}
                self.decisions[key] = known
        return None if known == _INVALID_SCOPE else bool(known)


def _key(action: str, target: dict[str, Any], creds: dict[str, Any]) -> Any:
    """A hashable key of a check, or None for values that are not plain."""
    try:
        return (action, frozenset(target.items()), frozenset(
            (k, tuple(v) if isinstance(v, list) else v) for k, v in creds.items()))
    except TypeError:
        return None


def get_enforcer(conf: cfg.ConfigOpts | None = None) -> _Enforcer:
    """The process-wide enforcer (also the oslo.policy.enforcer entry point)."""
    global _enforcer
    if _enforcer is None:
        with _lock:
            if _enforcer is None:
                conf = conf or CONF
                # Older oslo.policy releases still default these to False.
                policy_opts.set_defaults(conf, enforce_scope=True,
                                         enforce_new_defaults=True)
                enforcer = _Enforcer(conf)
                enforcer.register_defaults(policies.list_rules())
                enforcer.load_rules()
                _enforcer = enforcer
    return _enforcer


def reset() -> None:
    """Forget the enforcer (tests, or after the policy file changed)."""
    global _enforcer
    with _lock:
        if _enforcer is not None:
            _enforcer.clear()
        _enforcer = None


def _target(ctx: RequestContext, target: dict[str, Any] | None) -> dict[str, Any]:
    if target is None:
        return {'project_id': ctx.project_id, 'user_id': ctx.user_id}
    return target


def authorize(ctx: RequestContext, action: str, target: dict[str, Any] | None = None) -> None:
    """Raise PolicyNotAuthorized (403) unless `ctx` may perform `action` on `target`."""
    if not get_enforcer().decide(action, _target(ctx, target), ctx):
        raise PolicyNotAuthorized(action=action)


def can(ctx: RequestContext, action: str, target: dict[str, Any] | None = None) -> bool:
    return bool(get_enforcer().decide(action, _target(ctx, target), ctx))
