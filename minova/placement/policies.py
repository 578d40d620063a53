"""Placement policy rules (oslo.policy); by default every route is admin-only."""
from __future__ import annotations

import threading

from oslo_policy import policy

from minova.conf import CONF
from minova.placement import errors

ADMIN = 'role:admin'

# (rule name, description, [(method, path)])
_RULES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ('placement:resource_providers:list', 'List resource providers.',
     [('GET', '/resource_providers')]),
    ('placement:resource_providers:create', 'Create resource provider.',
     [('POST', '/resource_providers')]),
    ('placement:resource_providers:show', 'Show resource provider.',
     [('GET', '/resource_providers/{uuid}')]),
    ('placement:resource_providers:update', 'Update resource provider.',
     [('PUT', '/resource_providers/{uuid}')]),
    ('placement:resource_providers:delete', 'Delete resource provider.',
     [('DELETE', '/resource_providers/{uuid}')]),
    ('placement:resource_providers:inventories:list', 'List inventories.',
     [('GET', '/resource_providers/{uuid}/inventories')]),
    ('placement:resource_providers:inventories:create', 'Create one inventory.',
     [('POST', '/resource_providers/{uuid}/inventories')]),
    ('placement:resource_providers:inventories:show', 'Show one inventory.',
     [('GET', '/resource_providers/{uuid}/inventories/{resource_class}')]),
    ('placement:resource_providers:inventories:update', 'Update inventories.',
     [('PUT', '/resource_providers/{uuid}/inventories'),
      ('PUT', '/resource_providers/{uuid}/inventories/{resource_class}')]),
    ('placement:resource_providers:inventories:delete', 'Delete inventories.',
     [('DELETE', '/resource_providers/{uuid}/inventories'),
      ('DELETE', '/resource_providers/{uuid}/inventories/{resource_class}')]),
    ('placement:resource_providers:usages', 'Usages of a resource provider.',
     [('GET', '/resource_providers/{uuid}/usages')]),
    ('placement:usages', 'Usages of a project (and user).', [('GET', '/usages')]),
    ('placement:resource_providers:allocations:list', 'Allocations against a provider.',
     [('GET', '/resource_providers/{uuid}/allocations')]),
    ('placement:allocations:list', 'Allocations of a consumer.',
     [('GET', '/allocations/{consumer_uuid}')]),
    ('placement:allocations:update', 'Create or replace allocations of a consumer.',
     [('PUT', '/allocations/{consumer_uuid}')]),
    ('placement:allocations:manage', 'Allocations of several consumers at once.',
     [('POST', '/allocations')]),
    ('placement:allocations:delete', 'Delete allocations of a consumer.',
     [('DELETE', '/allocations/{consumer_uuid}')]),
    ('placement:allocation_candidates:list', 'List allocation candidates.',
     [('GET', '/allocation_candidates')]),
    ('placement:reshaper:reshape', 'Reshape inventories and allocations.',
     [('POST', '/reshaper')]),
    ('placement:resource_classes:list', 'List resource classes.',
     [('GET', '/resource_classes')]),
    ('placement:resource_classes:create', 'Create a resource class.',
     [('POST', '/resource_classes')]),
    ('placement:resource_classes:show', 'Show a resource class.',
     [('GET', '/resource_classes/{name}')]),
    ('placement:resource_classes:update', 'Create or update a resource class.',
     [('PUT', '/resource_classes/{name}')]),
    ('placement:resource_classes:delete', 'Delete a resource class.',
     [('DELETE', '/resource_classes/{name}')]),
    ('placement:traits:list', 'List traits.', [('GET', '/traits')]),
    ('placement:traits:show', 'Show a trait.', [('GET', '/traits/{name}')]),
    ('placement:traits:update', 'Create a trait.', [('PUT', '/traits/{name}')]),
    ('placement:traits:delete', 'Delete a trait.', [('DELETE', '/traits/{name}')]),
    ('placement:resource_providers:traits:list', 'Traits of a provider.',
     [('GET', '/resource_providers/{uuid}/traits')]),
    ('placement:resource_providers:traits:update', 'Replace traits of a provider.',
     [('PUT', '/resource_providers/{uuid}/traits')]),
    ('placement:resource_providers:traits:delete', 'Remove traits of a provider.',
     [('DELETE', '/resource_providers/{uuid}/traits')]),
    ('placement:resource_providers:aggregates:list', 'Aggregates of a provider.',
     [('GET', '/resource_providers/{uuid}/aggregates')]),
    ('placement:resource_providers:aggregates:update', 'Replace aggregates of a provider.',
     [('PUT', '/resource_providers/{uuid}/aggregates')]),
]


def list_rules() -> list[policy.RuleDefault]:
    rules: list[policy.RuleDefault] = [
        policy.RuleDefault('admin_api', ADMIN, 'Placement administrators.')]
    for name, description, operations in _RULES:
        rules.append(policy.DocumentedRuleDefault(
            name, 'rule:admin_api', description,
            [{'method': m, 'path': p} for m, p in operations]))
    return rules


_enforcer: policy.Enforcer | None = None
_lock = threading.Lock()


def get_enforcer() -> policy.Enforcer:
    global _enforcer
    with _lock:
        if _enforcer is None:
            enforcer = policy.Enforcer(CONF)
            enforcer.register_defaults(list_rules())
            _enforcer = enforcer
    return _enforcer


def reset() -> None:
    global _enforcer
    with _lock:
        _enforcer = None


def authorize(ctx: object, rule: str) -> None:
    """Raise 403 unless the context may use `rule`."""
    creds = ctx.to_policy_values()  # type: ignore[attr-defined]
    target = {'project_id': creds.get('project_id'), 'user_id': creds.get('user_id')}
    if not get_enforcer().authorize(rule, target, creds, do_raise=False):
        raise errors.PlacementError(
            403, f'Policy does not allow {rule} to be performed.')
