"""oslo.policy enforcement with Nova's rule names and defaults.

Defaults are code (minova/policies); operators override them with the file
named by `[oslo_policy] policy_file` as with Nova. As in current Nova, the new
defaults and scope checks are on: rules are project-scoped, so a
system-scoped token is refused, and the reader role may look but not act.
"""
from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from minova import exception, policies
from minova.conf import CONF
from minova.context import RequestContext

_enforcer: oslo_policy.Enforcer | None = None
_lock = threading.Lock()


class PolicyNotAuthorized(exception.Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


def get_enforcer(conf: cfg.ConfigOpts | None = None) -> oslo_policy.Enforcer:
    """The process-wide enforcer (also the oslo.policy.enforcer entry point)."""
    global _enforcer
    if _enforcer is None:
        with _lock:
            if _enforcer is None:
                conf = conf or CONF
                # Older oslo.policy releases still default these to False.
                policy_opts.set_defaults(conf, enforce_scope=True,
                                         enforce_new_defaults=True)
                enforcer = oslo_policy.Enforcer(conf)
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
    try:
        get_enforcer().authorize(action, _target(ctx, target), ctx,
                                 do_raise=True, exc=PolicyNotAuthorized, action=action)
    except oslo_policy.InvalidScope:
        raise PolicyNotAuthorized(action=action) from None


def can(ctx: RequestContext, action: str, target: dict[str, Any] | None = None) -> bool:
    try:
        return bool(get_enforcer().authorize(action, _target(ctx, target), ctx,
                                             do_raise=False))
    except oslo_policy.InvalidScope:
        return False
