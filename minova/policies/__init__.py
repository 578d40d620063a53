"""Policy defaults as code, with Nova's rule names (oslo.policy entry point)."""
from __future__ import annotations

import itertools

from oslo_policy import policy

from minova.policies import admin, base, flavors, keypairs, quotas, servers


def list_rules() -> list[policy.RuleDefault]:
    return list(itertools.chain(
        base.list_rules(), servers.list_rules(), flavors.list_rules(),
        keypairs.list_rules(), admin.list_rules(), quotas.list_rules()))
