"""The caller's catalog as keystonemiddleware passes it (v2 format) finds endpoints."""
from __future__ import annotations

from minova.clients import base as service_auth

V2 = [{'type': 'image', 'name': 'glance', 'endpoints': [
    {'id': 'e1', 'region': 'RegionOne', 'publicURL': 'http://pub:9292',
     'internalURL': 'http://int:9292', 'adminURL': 'http://adm:9292'}]}]
V3 = [{'type': 'image', 'name': 'glance', 'endpoints': [
    {'id': 'e2', 'interface': 'public', 'region': 'RegionOne', 'url': 'http://v3:9292'}]}]


def test_v2_and_v3_catalogs() -> None:
    v2 = service_auth.UserAuthPlugin('tok', V2)
    assert v2.get_endpoint(None, service_type='image') == 'http://pub:9292'
    assert v2.get_endpoint(None, service_type='image', interface='internal') == \
        'http://int:9292'
    v3 = service_auth.UserAuthPlugin('tok', V3)
    assert v3.get_endpoint(None, service_type='image') == 'http://v3:9292'
