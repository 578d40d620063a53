"""The same placement request sequence against upstream OpenStack Placement and
mini-Nova's placement gives the same answers: status codes, error codes and
bodies, once uuids, generations and timestamps are normalised."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import requests

# Names in the sequence; each run gets fresh uuids for them.
NAMES = ('CN1', 'CN2', 'CHILD', 'AGG1', 'AGG2', 'C1', 'C2', 'C3', 'MISSING',
         'R1', 'R2', 'PF1', 'PF2', 'AGG3', 'AGG4', 'C4', 'C5', 'C6')

INV = {'VCPU': {'total': 8, 'allocation_ratio': 2.0, 'max_unit': 8},
       'MEMORY_MB': {'total': 4096, 'reserved': 512, 'max_unit': 4096},
       'DISK_GB': {'total': 100, 'max_unit': 100}}

# (microversion, method, path, body); {NAME} is replaced by that name's uuid and
# {gen:NAME} by the provider's generation as the last answer showed it.
SEQUENCE: list[tuple[Any, ...]] = [
    ('1.20', 'POST', '/resource_providers', {'name': 'cn1', 'uuid': '{CN1}'}),
    ('1.20', 'POST', '/resource_providers', {'name': 'cn1'}),
    ('1.10', 'POST', '/resource_providers', {'name': 'cn2', 'uuid': '{CN2}'}),
    ('1.20', 'POST', '/resource_providers', {'uuid': 'not-a-uuid', 'name': 'x'}),
    ('1.14', 'GET', '/resource_providers/{CN1}', None),
    ('1.14', 'GET', '/resource_providers/{MISSING}', None),
    ('1.26', 'PUT', '/resource_providers/{CN1}/inventories',
     {'resource_provider_generation': '{gen:CN1}', 'inventories': INV}),
    ('1.26', 'PUT', '/resource_providers/{CN1}/inventories',
     {'resource_provider_generation': 99, 'inventories': INV}),
    ('1.26', 'PUT', '/resource_providers/{CN1}/inventories',
     {'resource_provider_generation': '{gen:CN1}',
      'inventories': {'VCPU': {'total': 0}}}),
    ('1.26', 'PUT', '/resource_providers/{CN2}/inventories',
     {'resource_provider_generation': '{gen:CN2}', 'inventories': {
         'VCPU': {'total': 4}, 'MEMORY_MB': {'total': 1024}, 'DISK_GB': {'total': 10}}}),
    ('1.26', 'GET', '/resource_providers/{CN1}/inventories', None),
    ('1.26', 'GET', '/resource_providers/{CN1}/inventories/VCPU', None),
    ('1.26', 'GET', '/resource_providers/{CN1}/inventories/CUSTOM_NOPE', None),
    ('1.7', 'PUT', '/resource_classes/CUSTOM_COMPAT_MAGIC', None),
    ('1.7', 'PUT', '/resource_classes/CUSTOM_COMPAT_MAGIC', None),
    ('1.7', 'PUT', '/resource_classes/NOT_CUSTOM', None),
    ('1.7', 'GET', '/resource_classes/CUSTOM_COMPAT_MAGIC', None),
    ('1.6', 'PUT', '/traits/CUSTOM_COMPAT_FAST', None),
    ('1.6', 'PUT', '/traits/CUSTOM_COMPAT_FAST', None),
    ('1.6', 'PUT', '/traits/HW_CPU_X86_AVX2', None),
    ('1.6', 'GET', '/traits/CUSTOM_COMPAT_FAST', None),
    ('1.6', 'GET', '/traits/CUSTOM_COMPAT_NOPE', None),
    ('1.6', 'PUT', '/resource_providers/{CN1}/traits',
     {'resource_provider_generation': '{gen:CN1}',
      'traits': ['HW_CPU_X86_AVX2', 'CUSTOM_COMPAT_FAST']}),
    ('1.6', 'PUT', '/resource_providers/{CN2}/traits',
     {'resource_provider_generation': '{gen:CN2}', 'traits': ['CUSTOM_COMPAT_UNKNOWN']}),
    ('1.6', 'GET', '/resource_providers/{CN1}/traits', None),
    ('1.19', 'PUT', '/resource_providers/{CN1}/aggregates',
     {'resource_provider_generation': '{gen:CN1}', 'aggregates': ['{AGG1}']}),
    ('1.19', 'PUT', '/resource_providers/{CN2}/aggregates',
     {'resource_provider_generation': '{gen:CN2}', 'aggregates': ['{AGG1}', '{AGG2}']}),
    ('1.19', 'PUT', '/resource_providers/{CN2}/aggregates',
     {'resource_provider_generation': 99, 'aggregates': []}),
    ('1.19', 'GET', '/resource_providers/{CN2}/aggregates', None),
    ('1.20', 'POST', '/resource_providers',
     {'name': 'child', 'uuid': '{CHILD}', 'parent_provider_uuid': '{CN1}'}),
    ('1.20', 'POST', '/resource_providers',
     {'name': 'orphan', 'parent_provider_uuid': '{MISSING}'}),
    ('1.14', 'GET', '/resource_providers?in_tree={CN1}', None),
    ('1.14', 'GET', '/resource_providers?name=cn2', None),
    ('1.14', 'GET', '/resource_providers?member_of=in:{AGG1},{AGG2}', None),
    ('1.24', 'GET', '/resource_providers?member_of={AGG1}&member_of={AGG2}', None),
    ('1.18', 'GET', '/resource_providers?required=CUSTOM_COMPAT_FAST', None),
    ('1.22', 'GET', '/resource_providers?member_of={AGG1}&required=!CUSTOM_COMPAT_FAST', None),
    ('1.14', 'GET', '/resource_providers?member_of={AGG1}&resources=VCPU:5', None),
    ('1.14', 'GET', '/resource_providers?resources=VCPU:x', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:1,MEMORY_MB:256'
     '&member_of={AGG1}', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:1&member_of={AGG1}'
     '&required=HW_CPU_X86_AVX2', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:1&member_of={AGG1}'
     '&required=!CUSTOM_COMPAT_FAST', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:5&member_of={AGG1}', None),
    ('1.31', 'GET', '/allocation_candidates?resources=VCPU:1&in_tree={CN2}', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:1', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:1&member_of={AGG1}&limit=1',
     None),
    ('1.29', 'GET', '/allocation_candidates?resources1=VCPU:1&resources2=MEMORY_MB:128'
     '&group_policy=none&member_of={AGG1}', None),
    ('1.29', 'GET', '/allocation_candidates?resources1=VCPU:1&resources2=MEMORY_MB:128'
     '&member_of={AGG1}', None),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:x', None),
    ('1.28', 'PUT', '/allocations/{C1}',
     {'allocations': {'{CN1}': {'resources': {'VCPU': 2, 'MEMORY_MB': 512}}},
      'project_id': 'p1', 'user_id': 'u1', 'consumer_generation': None}),
    ('1.28', 'PUT', '/allocations/{C1}',
     {'allocations': {'{CN1}': {'resources': {'VCPU': 1}}},
      'project_id': 'p1', 'user_id': 'u1', 'consumer_generation': None}),
    ('1.28', 'PUT', '/allocations/{C2}',
     {'allocations': {'{CN2}': {'resources': {'VCPU': 100}}},
      'project_id': 'p1', 'user_id': 'u1', 'consumer_generation': None}),
    ('1.28', 'PUT', '/allocations/{C2}',
     {'allocations': {'{CN2}': {'resources': {'VCPU': 1}}},
      'project_id': 'p1', 'user_id': 'u1'}),
    ('1.28', 'GET', '/allocations/{C1}', None),
    ('1.28', 'GET', '/allocations/{MISSING}', None),
    ('1.13', 'POST', '/allocations', {
        '{C2}': {'allocations': {'{CN2}': {'resources': {'VCPU': 1}}},
                 'project_id': 'p1', 'user_id': 'u2'},
        '{C3}': {'allocations': {'{CN1}': {'resources': {'DISK_GB': 5}}},
                 'project_id': 'p2', 'user_id': 'u2'}}),
    ('1.9', 'GET', '/resource_providers/{CN1}/usages', None),
    ('1.9', 'GET', '/usages?project_id=p1', None),
    ('1.9', 'GET', '/usages?project_id=p2&user_id=u2', None),
    ('1.9', 'GET', '/usages', None),
    ('1.12', 'GET', '/resource_providers/{CN1}/allocations', None),
    ('1.26', 'DELETE', '/resource_providers/{CN1}/inventories/VCPU', None),
    ('1.26', 'PUT', '/resource_providers/{CN1}/inventories/VCPU',
     {'resource_provider_generation': '{gen:CN1}', 'total': 1}),
    ('1.29', 'GET', '/allocation_candidates?resources=VCPU:1&member_of={AGG1}', None),
    ('1.14', 'DELETE', '/resource_providers/{CN1}', None),
    ('1.28', 'DELETE', '/allocations/{C1}', None),
    ('1.28', 'DELETE', '/allocations/{C1}', None),
    ('1.28', 'DELETE', '/allocations/{C3}', None),
    ('1.14', 'DELETE', '/resource_providers/{CN1}', None),
    ('1.14', 'DELETE', '/resource_providers/{CHILD}', None),
    ('1.14', 'DELETE', '/resource_providers/{CN1}', None),
    ('1.14', 'DELETE', '/resource_providers/{CN1}', None),
    ('1.6', 'DELETE', '/traits/CUSTOM_COMPAT_FAST', None),
    ('1.6', 'DELETE', '/traits/HW_CPU_X86_AVX2', None),
    ('1.7', 'DELETE', '/resource_classes/CUSTOM_COMPAT_MAGIC', None),
    ('1.28', 'DELETE', '/allocations/{C2}', None),
    ('1.14', 'DELETE', '/resource_providers/{CN2}', None),
]

VF = 'CUSTOM_COMPAT_VF'
PHYS = 'CUSTOM_COMPAT_PHYS1,CUSTOM_COMPAT_PHYS2'
AC = '/allocation_candidates?'


def _alloc(rp: str, resources: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {'allocations': {rp: {'resources': resources}}, 'project_id': 'p9',
            'user_id': 'u9', **extra}


# Upstream's reshaper policy wants the service role.
SERVICE = {'X-Roles': 'admin,service'}

# Microversions 1.32 to 1.39: two compute-node trees, R1 with two PFs.
LATER: list[tuple[Any, ...]] = [
    ('1.20', 'POST', '/resource_providers', {'name': 'r1', 'uuid': '{R1}'}),
    ('1.20', 'POST', '/resource_providers', {'name': 'r2', 'uuid': '{R2}'}),
    ('1.20', 'POST', '/resource_providers',
     {'name': 'pf1', 'uuid': '{PF1}', 'parent_provider_uuid': '{R1}'}),
    ('1.20', 'POST', '/resource_providers',
     {'name': 'pf2', 'uuid': '{PF2}', 'parent_provider_uuid': '{R1}'}),
    ('1.7', 'PUT', f'/resource_classes/{VF}', None),
    ('1.26', 'PUT', '/resource_providers/{R1}/inventories',
     {'resource_provider_generation': '{gen:R1}', 'inventories': {
         'VCPU': {'total': 8}, 'MEMORY_MB': {'total': 4096}}}),
    ('1.26', 'PUT', '/resource_providers/{R2}/inventories',
     {'resource_provider_generation': '{gen:R2}', 'inventories': {
         'VCPU': {'total': 4}, 'MEMORY_MB': {'total': 2048}}}),
    ('1.26', 'PUT', '/resource_providers/{PF1}/inventories',
     {'resource_provider_generation': '{gen:PF1}', 'inventories': {VF: {'total': 4}}}),
    ('1.26', 'PUT', '/resource_providers/{PF2}/inventories',
     {'resource_provider_generation': '{gen:PF2}', 'inventories': {VF: {'total': 4}}}),
    ('1.6', 'PUT', '/traits/CUSTOM_COMPAT_PHYS1', None),
    ('1.6', 'PUT', '/traits/CUSTOM_COMPAT_PHYS2', None),
    ('1.6', 'PUT', '/resource_providers/{PF1}/traits',
     {'resource_provider_generation': '{gen:PF1}', 'traits': ['CUSTOM_COMPAT_PHYS1']}),
    ('1.6', 'PUT', '/resource_providers/{PF2}/traits',
     {'resource_provider_generation': '{gen:PF2}', 'traits': ['CUSTOM_COMPAT_PHYS2']}),
    ('1.6', 'PUT', '/resource_providers/{R1}/traits',
     {'resource_provider_generation': '{gen:R1}', 'traits': ['HW_CPU_X86_AVX2']}),
    ('1.6', 'PUT', '/resource_providers/{R2}/traits',
     {'resource_provider_generation': '{gen:R2}', 'traits': ['COMPUTE_STATUS_DISABLED']}),
    ('1.19', 'PUT', '/resource_providers/{R1}/aggregates',
     {'resource_provider_generation': '{gen:R1}', 'aggregates': ['{AGG3}']}),
    ('1.19', 'PUT', '/resource_providers/{R2}/aggregates',
     {'resource_provider_generation': '{gen:R2}', 'aggregates': ['{AGG3}', '{AGG4}']}),
    # 1.32: forbidden aggregates
    ('1.32', 'GET', '/resource_providers?member_of=!{AGG4}', None),
    ('1.32', 'GET', '/resource_providers?member_of=!in:{AGG3},{AGG4}', None),
    ('1.32', 'GET', '/resource_providers?member_of={AGG3}&member_of=!{AGG4}', None),
    ('1.31', 'GET', '/resource_providers?member_of=!{AGG4}', None),
    ('1.32', 'GET', '/resource_providers?member_of=in:{AGG3},!{AGG4}', None),
    ('1.32', 'GET', '/resource_providers?member_of={AGG3},{AGG4}', None),
    ('1.32', 'GET', AC + 'resources=VCPU:1&member_of=!{AGG4}', None),
    ('1.32', 'GET', AC + 'resources=VCPU:1&member_of={AGG3}&member_of=!in:{AGG4},{AGG1}',
     None),
    ('1.31', 'GET', AC + 'resources=VCPU:1&member_of=!{AGG4}', None),
    ('1.32', 'GET', AC + f'resources=VCPU:1&resources1={VF}:1&member_of1=!{{AGG3}}', None),
    # 1.33: string suffixes
    ('1.33', 'GET', AC + f'resources_CPU=VCPU:1&resources_VF={VF}:1&group_policy=isolate',
     None),
    ('1.32', 'GET', AC + f'resources_CPU=VCPU:1&resources_VF={VF}:1&group_policy=isolate',
     None),
    ('1.33', 'GET', AC + f'resources_CPU=VCPU:1&resources_VF={VF}:1', None),
    ('1.33', 'GET', AC + 'resources_' + 'X' * 65 + '=VCPU:1', None),
    # 1.34: mappings; candidates differ by allocations or by mappings
    ('1.34', 'GET', AC + f'resources=VCPU:1&resources1={VF}:1', None),
    ('1.33', 'GET', AC + f'resources=VCPU:1&resources1={VF}:1', None),
    ('1.34', 'GET', AC + f'resources1={VF}:1&resources2={VF}:1&group_policy=isolate', None),
    ('1.29', 'GET', AC + f'resources1={VF}:1&resources2={VF}:1&group_policy=isolate', None),
    ('1.34', 'GET', AC + f'resources1={VF}:1&resources2={VF}:1&group_policy=none', None),
    ('1.34', 'GET', AC + 'resources=VCPU:2&resources1=VCPU:1&resources_MEM=MEMORY_MB:10'
     '&group_policy=none', None),
    ('1.34', 'PUT', '/allocations/{C4}',
     _alloc('{R1}', {'VCPU': 1}, consumer_generation=None, mappings={'': ['{R1}']})),
    ('1.33', 'PUT', '/allocations/{C6}',
     _alloc('{R1}', {'VCPU': 1}, consumer_generation=None, mappings={'': ['{R1}']})),
    ('1.34', 'PUT', '/allocations/{C6}',
     _alloc('{R1}', {'VCPU': 1}, consumer_generation=None, mappings={'': []})),
    # 1.35: root_required
    ('1.35', 'GET', AC + 'resources=VCPU:1&root_required=!COMPUTE_STATUS_DISABLED', None),
    ('1.35', 'GET', AC + f'resources1={VF}:1&root_required=HW_CPU_X86_AVX2', None),
    ('1.35', 'GET', AC + f'resources1={VF}:1&root_required=COMPUTE_STATUS_DISABLED', None),
    ('1.35', 'GET', AC + 'resources=VCPU:1&root_required=HW_CPU_X86_AVX2,'
     '!COMPUTE_STATUS_DISABLED&member_of={AGG3}', None),
    ('1.34', 'GET', AC + 'resources=VCPU:1&root_required=HW_CPU_X86_AVX2', None),
    ('1.35', 'GET', AC + 'resources=VCPU:1&root_required=HW_CPU_X86_AVX2'
     '&root_required=!COMPUTE_STATUS_DISABLED', None),
    ('1.35', 'GET', AC + 'resources=VCPU:1&root_required=HW_CPU_X86_AVX2,!HW_CPU_X86_AVX2',
     None),
    ('1.35', 'GET', AC + 'resources=VCPU:1&root_required=CUSTOM_COMPAT_NOPE', None),
    ('1.35', 'GET', AC + 'resources=VCPU:1&root_required=in:HW_CPU_X86_AVX2', None),
    ('1.35', 'GET', AC + 'resources1=VCPU:1&required2=CUSTOM_COMPAT_PHYS1'
     '&group_policy=none', None),
    # 1.36: same_subtree and resourceless groups
    ('1.36', 'GET', AC + f'resources_COMPUTE=VCPU:1&resources_NET={VF}:1'
     '&required_NIC=CUSTOM_COMPAT_PHYS1&same_subtree=_NET,_NIC&group_policy=none', None),
    ('1.36', 'GET', AC + f'resources_NET1={VF}:1&resources_NET2={VF}:1'
     '&required_NIC=CUSTOM_COMPAT_PHYS2&same_subtree=_NET1,_NIC'
     '&same_subtree=_NET2,_NIC&group_policy=none', None),
    ('1.36', 'GET', AC + f'resources_NET1={VF}:1&in_tree_ROOT={{R1}}'
     '&same_subtree=_ROOT,_NET1&group_policy=isolate', None),
    ('1.36', 'GET', AC + f'resources_NET={VF}:1&required_NIC=!CUSTOM_COMPAT_PHYS1'
     '&same_subtree=_NET,_NIC&group_policy=none', None),
    ('1.36', 'GET', AC + f'resources_NET={VF}:1&member_of_NIC={{AGG3}}'
     '&same_subtree=_NET,_NIC&group_policy=none', None),
    ('1.36', 'GET', AC + f'resources_A={VF}:1&resources_B={VF}:1'
     '&same_subtree=_A,_B&group_policy=none', None),
    ('1.36', 'GET', AC + f'resources_NET={VF}:1&required_NIC=CUSTOM_COMPAT_PHYS1'
     '&group_policy=none', None),
    ('1.36', 'GET', AC + f'resources_NET={VF}:1&same_subtree=_NET,_NOPE', None),
    ('1.36', 'GET', AC + f'resources_NET={VF}:1&same_subtree=,_NET', None),
    ('1.36', 'GET', AC + 'resources1=VCPU:1&required=HW_CPU_X86_AVX2', None),
    ('1.36', 'GET', AC + 'required_NIC=CUSTOM_COMPAT_PHYS1&same_subtree=_NIC', None),
    ('1.36', 'GET', AC + 'same_subtree=_NIC', None),
    ('1.35', 'GET', AC + f'resources_NET={VF}:1&same_subtree=_NET', None),
    ('1.36', 'GET', AC + 'resources=VCPU:1,MEMORY_MB:64'
     '&root_required=!COMPUTE_STATUS_DISABLED&limit=1000', None),
    # 1.37: re-parenting and un-parenting
    ('1.36', 'PUT', '/resource_providers/{PF2}',
     {'name': 'pf2', 'parent_provider_uuid': '{R2}'}),
    ('1.37', 'PUT', '/resource_providers/{PF2}',
     {'name': 'pf2', 'parent_provider_uuid': '{R2}'}),
    ('1.37', 'GET', '/resource_providers?in_tree={R2}', None),
    ('1.37', 'PUT', '/resource_providers/{R2}',
     {'name': 'r2', 'parent_provider_uuid': '{PF2}'}),
    ('1.37', 'PUT', '/resource_providers/{R1}',
     {'name': 'r1', 'parent_provider_uuid': '{MISSING}'}),
    ('1.36', 'PUT', '/resource_providers/{PF1}', {'name': 'pf1', 'parent_provider_uuid': None}),
    ('1.37', 'PUT', '/resource_providers/{PF2}', {'name': 'pf2', 'parent_provider_uuid': None}),
    ('1.37', 'GET', '/resource_providers/{PF2}', None),
    ('1.37', 'PUT', '/resource_providers/{PF2}',
     {'name': 'pf2', 'parent_provider_uuid': '{PF1}'}),
    ('1.37', 'GET', '/resource_providers?in_tree={PF2}', None),
    ('1.36', 'GET', AC + f'resources_NET={VF}:1&required_NIC=CUSTOM_COMPAT_PHYS1'
     '&same_subtree=_NET,_NIC&group_policy=none', None),
    ('1.37', 'PUT', '/resource_providers/{PF2}', {'name': 'pf2', 'parent_provider_uuid': None}),
    # 1.38: consumer types
    ('1.38', 'PUT', '/allocations/{C5}',
     _alloc('{R1}', {'VCPU': 1}, consumer_generation=None)),
    ('1.38', 'PUT', '/allocations/{C5}',
     _alloc('{R1}', {'VCPU': 1}, consumer_generation=None, consumer_type='instance')),
    ('1.38', 'PUT', '/allocations/{C5}',
     _alloc('{R1}', {'VCPU': 2, 'MEMORY_MB': 128}, consumer_generation=None,
            consumer_type='INSTANCE')),
    ('1.38', 'POST', '/allocations', {
        '{C6}': _alloc('{R2}', {'VCPU': 1}, consumer_generation=None,
                       consumer_type='MIGRATION'),
        '{C4}': _alloc('{R1}', {'VCPU': 1, 'MEMORY_MB': 64}, consumer_generation=1,
                       consumer_type='INSTANCE')}),
    ('1.37', 'PUT', '/allocations/{C6}',
     _alloc('{R2}', {'VCPU': 1}, consumer_generation=1, consumer_type='MIGRATION')),
    ('1.38', 'GET', '/allocations/{C4}', None),
    ('1.38', 'GET', '/allocations/{C5}', None),
    ('1.38', 'GET', '/allocations/{C6}', None),
    ('1.37', 'GET', '/allocations/{C5}', None),
    ('1.38', 'GET', '/allocations/{MISSING}', None),
    ('1.38', 'GET', '/resource_providers/{R1}/allocations', None),
    ('1.28', 'GET', '/resource_providers/{R1}/allocations', None),
    ('1.38', 'GET', '/usages?project_id=p9', None),
    ('1.38', 'GET', '/usages?project_id=p9&user_id=u9&consumer_type=all', None),
    ('1.38', 'GET', '/usages?project_id=p9&consumer_type=INSTANCE', None),
    ('1.38', 'GET', '/usages?project_id=p9&consumer_type=unknown', None),
    ('1.38', 'GET', '/usages?project_id=p9&consumer_type=NOPE', None),
    ('1.38', 'GET', '/usages?project_id=p9&consumer_type=instance', None),
    ('1.38', 'GET', '/usages?project_id=nobody&consumer_type=all', None),
    ('1.37', 'GET', '/usages?project_id=p9&consumer_type=INSTANCE', None),
    ('1.37', 'GET', '/usages?project_id=p9', None),
    ('1.38', 'PUT', '/allocations/{C5}',
     _alloc('{R1}', {'VCPU': 1}, consumer_generation=1, consumer_type='MIGRATION')),
    ('1.38', 'GET', '/usages?project_id=p9', None),
    ('1.38', 'POST', '/reshaper', {
        'inventories': {'{R2}': {'resource_provider_generation': '{gen:R2}',
                                 'inventories': {'VCPU': {'total': 6},
                                                 'MEMORY_MB': {'total': 2048}}}},
        'allocations': {'{C6}': _alloc('{R2}', {'VCPU': 2}, consumer_generation=2)}},
     SERVICE),
    ('1.38', 'POST', '/reshaper', {
        'inventories': {'{R2}': {'resource_provider_generation': '{gen:R2}',
                                 'inventories': {'VCPU': {'total': 6},
                                                 'MEMORY_MB': {'total': 2048}}}},
        'allocations': {'{C6}': _alloc('{R2}', {'VCPU': 2}, consumer_generation=2,
                                       consumer_type='MIGRATION')}}, SERVICE),
    ('1.38', 'GET', '/allocations/{C6}', None),
    # 1.39: any-of traits in required
    ('1.39', 'GET', AC + f'resources={VF}:1&required=in:{PHYS}', None),
    ('1.39', 'GET', AC + f'resources={VF}:1&required=in:{PHYS}'
     '&required=!CUSTOM_COMPAT_PHYS2', None),
    ('1.39', 'GET', AC + f'resources=VCPU:1&resources1={VF}:1&required1=in:{PHYS}'
     '&required1=CUSTOM_COMPAT_PHYS1', None),
    ('1.38', 'GET', AC + f'resources={VF}:1&required=in:{PHYS}', None),
    ('1.38', 'GET', AC + f'resources={VF}:1&required=CUSTOM_COMPAT_PHYS1'
     '&required=CUSTOM_COMPAT_PHYS2', None),
    ('1.39', 'GET', AC + f'resources={VF}:1&required=in:CUSTOM_COMPAT_PHYS1,!HW_CPU_X86_AVX2',
     None),
    ('1.39', 'GET', AC + f'resources={VF}:1&required=in:CUSTOM_COMPAT_PHYS1'
     '&required=!CUSTOM_COMPAT_PHYS1', None),
    ('1.39', 'GET', '/resource_providers?required=in:' + PHYS, None),
    ('1.39', 'GET', '/resource_providers?required=in:' + PHYS
     + '&required=!CUSTOM_COMPAT_PHYS1', None),
    ('1.38', 'GET', '/resource_providers?required=CUSTOM_COMPAT_PHYS1'
     '&required=CUSTOM_COMPAT_PHYS2', None),
    ('1.38', 'GET', '/resource_providers?required=in:' + PHYS, None),
    ('1.39', 'GET', '/', None),
    ('1.40', 'GET', '/resource_providers', None),
    # clean up
    ('1.38', 'DELETE', '/allocations/{C4}', None),
    ('1.38', 'DELETE', '/allocations/{C5}', None),
    ('1.38', 'DELETE', '/allocations/{C6}', None),
    ('1.38', 'DELETE', '/resource_providers/{PF1}', None),
    ('1.38', 'DELETE', '/resource_providers/{PF2}', None),
    ('1.38', 'DELETE', '/resource_providers/{R1}', None),
    ('1.38', 'DELETE', '/resource_providers/{R2}', None),
    ('1.6', 'DELETE', '/traits/CUSTOM_COMPAT_PHYS1', None),
    ('1.6', 'DELETE', '/traits/CUSTOM_COMPAT_PHYS2', None),
    ('1.7', 'DELETE', f'/resource_classes/{VF}', None),
]

_GEN = re.compile(r'\{gen:(\w+)\}')


class Run:
    """Replays SEQUENCE against one placement and keeps normalised answers."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.ids = {n: str(uuid.uuid4()) for n in NAMES}
        self.gens: dict[str, int] = {}

    def _fill(self, value: Any) -> Any:
        if isinstance(value, str):
            m = _GEN.fullmatch(value)
            if m:
                return self._generation(m.group(1))
            for name, ident in self.ids.items():
                value = value.replace('{' + name + '}', ident)
            return value
        if isinstance(value, dict):
            return {self._fill(k): self._fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        return value

    def _generation(self, name: str) -> int:
        r = requests.get(f'{self.base}/resource_providers/{self.ids[name]}', timeout=30,
                         headers={'X-Auth-Token': 'admin',
                                  'OpenStack-API-Version': 'placement 1.14'})
        return r.json()['generation']

    def _normalise(self, value: Any, key: str = '') -> Any:
        if key.endswith('generation') and isinstance(value, int):
            return '<generation>'
        if key in ('created_at', 'updated_at'):
            return '<time>'
        if isinstance(value, str):
            for name, ident in self.ids.items():
                value = value.replace(ident, name)
            return value
        if isinstance(value, dict):
            return {self._normalise(k): self._normalise(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [self._normalise(v) for v in value]
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return value

    def step(self, version: str, method: str, path: str, body: Any,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = requests.request(method, self.base + self._fill(path), timeout=60,
                             json=self._fill(body) if body is not None else None,
                             headers={'X-Auth-Token': 'admin', 'Accept': 'application/json',
                                      'OpenStack-API-Version': f'placement {version}',
                                      **(headers or {})})
        answer: dict[str, Any] = {'status': r.status_code,
                                  'version': r.headers.get('OpenStack-API-Version')}
        if r.status_code >= 400:
            errors = r.json().get('errors') or [{}]
            answer['code'] = errors[0].get('code')
        elif r.content:
            answer['body'] = self._normalise(r.json())
            if 'limit=' in path:
                # Which candidates a limit keeps is unspecified: compare the shape.
                body = answer['body']
                answer['body'] = {'count': len(body['allocation_requests'])}
        if r.status_code == 201 or (method == 'POST' and r.status_code == 200
                                    and 'location' in r.headers):
            location = r.headers.get('location', '').replace(self.base, '<base>')
            answer['location'] = self._normalise(location)
        return answer


@pytest.mark.parametrize('sequence', [SEQUENCE, LATER], ids=['1.0-1.31', '1.32-1.39'])
def test_same_answers_to_the_same_requests(upstream_placement: Any, minova_placement: Any,
                                           sequence: list[tuple[Any, ...]]
                                           ) -> None:
    theirs, ours = Run(upstream_placement.base), Run(minova_placement.base)
    different = []
    for i, step in enumerate(sequence):
        a, b = theirs.step(*step), ours.step(*step)
        if a != b:
            different.append((i, step[1], step[2], a, b))
    assert not different, '\n\n'.join(
        f'#{i} {m} {p}\n  upstream: {a}\n  mini-Nova: {b}' for i, m, p, a, b in different)
