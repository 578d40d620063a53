"""A service's user and catalog entries in a Keystone, for tools/minova-cinder
and tools/minova-neutron (`up --keystone-url`).

Plain urllib on the Identity API as the admin user of the admin project, so
the tools need nothing from mini-Nova's or the peer's virtualenv.
"""
from __future__ import annotations

import json
import urllib.request
from typing import Any

SERVICE_PROJECT = 'service'


class Keystone:
    """The Identity API calls `up --keystone-url` needs, as the admin user."""

    def __init__(self, url: str, password: str) -> None:
        self.url = url.rstrip('/')
        self.password = password
        self.token = ''
        self.project_id = ''

    def call(self, method: str, path: str, body: Any = None,
             token: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
        headers = {'Content-Type': 'application/json'}
        if token:
            headers['X-Auth-Token'] = self.login()
        req = urllib.request.Request(
            f'{self.url}{path}', method=method, headers=headers,
            data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b'{}'), dict(r.headers)

    def login(self) -> str:
        """The admin's token scoped to the admin project."""
        if not self.token:
            body, headers = self.call('POST', '/auth/tokens', {'auth': {
                'identity': {'methods': ['password'], 'password': {'user': {
                    'name': 'admin', 'domain': {'id': 'default'},
                    'password': self.password}}},
                'scope': {'project': {'name': 'admin', 'domain': {'id': 'default'}}}}},
                token=False)
            self.token = headers.get('X-Subject-Token') or headers['x-subject-token']
            self.project_id = body['token']['project']['id']
        return self.token

    def find(self, kind: str, **query: str) -> dict[str, Any] | None:
        qs = '&'.join(f'{k}={v}' for k, v in query.items())
        found = self.call('GET', f'/{kind}?{qs}')[0][kind]
        return found[0] if found else None

    def ensure(self, kind: str, one: str, body: dict[str, Any]) -> dict[str, Any]:
        existing = self.find(kind, name=body['name'])
        if existing is not None:
            return existing
        made: dict[str, Any] = self.call('POST', f'/{kind}', {one: body})[0][one]
        return made

    def register(self, user_name: str, password: str, region: str,
                 services: tuple[tuple[str, str, str], ...], url: str) -> None:
        """`user_name` (admin and service roles in the service project, its
        password reset to `password`) and the (name, type, description)
        services with public/internal/admin endpoints at `url`, made afresh."""
        project = self.ensure('projects', 'project', {'name': SERVICE_PROJECT,
                                                     'domain_id': 'default'})
        user = self.find('users', name=user_name)
        if user is None:
            user = self.call('POST', '/users', {'user': {
                'name': user_name, 'domain_id': 'default', 'password': password}})[0]['user']
        else:
            self.call('PATCH', f'/users/{user["id"]}', {'user': {'password': password}})
        for role in ('admin', 'service'):
            role_id = self.ensure('roles', 'role', {'name': role})['id']
            self.call('PUT', f'/projects/{project["id"]}/users/{user["id"]}/roles/{role_id}')
        for name, kind, description in services:
            for old in self.call('GET', f'/services?type={kind}')[0]['services']:
                self.call('DELETE', f'/services/{old["id"]}')   # its endpoints go too
            service = self.call('POST', '/services', {'service': {
                'name': name, 'type': kind, 'description': description}})[0]['service']
            for interface in ('public', 'internal', 'admin'):
                self.call('POST', '/endpoints', {'endpoint': {
                    'service_id': service['id'], 'interface': interface, 'url': url,
                    'region_id': region}})


def service_auth(keystone_url: str, user_name: str, password: str) -> tuple[str, str]:
    """(Keystone's root URL, keystoneauth password options as `user_name` of
    the service project), for [keystone_authtoken] and [nova] sections."""
    root = keystone_url.rstrip('/').removesuffix('/v3')
    return root, f"""auth_type = password
auth_url = {root}/v3
project_domain_name = Default
user_domain_name = Default
project_name = {SERVICE_PROJECT}
username = {user_name}
password = {password}"""
