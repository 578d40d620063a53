"""Policy defaults as code, with Nova's rule names (oslo.policy entry point)."""
from __future__ import annotations

import itertools

from oslo_policy import policy

from minova.policies import (
    admin,
    aggregates,
    base,
    flavors,
    keypairs,
    legacy,
    migrations,
    network,
    quotas,
    remote_consoles,
    server_actions,
    server_groups,
    server_subresources,
    servers,
    shelve,
    usage,
    volumes,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(itertools.chain(
        base.list_rules(), servers.list_rules(), flavors.list_rules(),
        keypairs.list_rules(), admin.list_rules(), quotas.list_rules(),
        aggregates.list_rules(), server_groups.list_rules(),
        server_actions.list_rules(), migrations.list_rules(),
        usage.list_rules(), legacy.list_rules(), server_subresources.list_rules(),
        remote_consoles.list_rules(), shelve.list_rules(), network.list_rules(),
        volumes.list_rules()))
