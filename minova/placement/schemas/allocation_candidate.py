"""Query string of GET /allocation_candidates, one schema per microversion.

The values are parsed by the handler; these say which keys a version
takes, and check the values that are a plain choice.
"""
import copy
from typing import Any

from minova.placement.schemas.common import GROUP_SUFFIX_V1_25, GROUP_SUFFIX_V1_33

_STRING: dict[str, Any] = {'type': 'string'}

GET_V1_10: dict[str, Any] = {
    'type': 'object',
    'properties': {'resources': _STRING},
    'required': ['resources'],
    'additionalProperties': False,
}

# 1.16: limit.
GET_V1_16 = copy.deepcopy(GET_V1_10)
GET_V1_16['properties']['limit'] = {'type': 'string', 'pattern': '^[1-9][0-9]*$'}

# 1.17: required traits.
GET_V1_17 = copy.deepcopy(GET_V1_16)
GET_V1_17['properties']['required'] = _STRING

# 1.21: member_of.
GET_V1_21 = copy.deepcopy(GET_V1_17)
GET_V1_21['properties']['member_of'] = _STRING


def _groups(suffix: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    return {f'^{kind}({suffix})?$': _STRING for kind in kinds}


# 1.25: request groups resources<N>, required<N>, member_of<N>, and
# group_policy; no group is required by the schema any more.
GET_V1_25 = copy.deepcopy(GET_V1_21)
for _key in ('resources', 'required', 'member_of'):
    del GET_V1_25['properties'][_key]
del GET_V1_25['required']
GET_V1_25['patternProperties'] = _groups(GROUP_SUFFIX_V1_25,
                                         ('resources', 'required', 'member_of'))
GET_V1_25['properties']['group_policy'] = {'type': 'string', 'enum': ['none', 'isolate']}

# 1.31: in_tree<N>.
GET_V1_31 = copy.deepcopy(GET_V1_25)
GET_V1_31['patternProperties'].update(_groups(GROUP_SUFFIX_V1_25, ('in_tree',)))

# 1.33: group suffixes are strings of 1 to 64 of [a-zA-Z0-9_-].
GET_V1_33 = copy.deepcopy(GET_V1_31)
GET_V1_33['patternProperties'] = _groups(
    GROUP_SUFFIX_V1_33, ('resources', 'required', 'member_of', 'in_tree'))

# 1.35: root_required.
GET_V1_35 = copy.deepcopy(GET_V1_33)
GET_V1_35['properties']['root_required'] = _STRING

# 1.36: same_subtree.
GET_V1_36 = copy.deepcopy(GET_V1_35)
GET_V1_36['properties']['same_subtree'] = _STRING

GET: tuple[tuple[str, dict[str, Any]], ...] = (
    ('1.36', GET_V1_36), ('1.35', GET_V1_35), ('1.33', GET_V1_33), ('1.31', GET_V1_31),
    ('1.25', GET_V1_25), ('1.21', GET_V1_21), ('1.17', GET_V1_17), ('1.16', GET_V1_16),
    ('1.10', GET_V1_10))
