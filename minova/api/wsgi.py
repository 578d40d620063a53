"""The compute API WSGI application: middleware and the one route table.

    from minova.api.wsgi import make_app
    app = make_app()          # a falcon.App; serve it with minova.wsgi.server

With `[api] auth_strategy = keystone` the returned callable is the falcon
app wrapped in keystonemiddleware's auth_token; outermost is the access log
(one INFO line per request, minova.wsgi.access_log).
"""
from __future__ import annotations

import functools
import json
from typing import Any

import falcon

from minova.api import auth, errors, identity, microversion, middleware
from minova.api.handlers import (
    aggregates,
    availability_zones,
    extensions,
    flavors,
    floating_ips,
    hosts,
    hypervisors,
    images,
    instance_actions,
    instance_usage_audit_log,
    interfaces,
    ips,
    keypairs,
    limits,
    migrations,
    networks,
    quota_class_sets,
    quota_sets,
    remote_consoles,
    security_groups,
    server_actions,
    server_diagnostics,
    server_external_events,
    server_groups,
    server_metadata,
    server_migrations,
    server_password,
    server_tags,
    servers,
    services,
    simple_tenant_usage,
    versions,
    volume_attachments,
    volumes_proxy,
)
from minova.conf import CONF
from minova.wsgi import access_log

V = '/v2.1'

# (path below /v2.1, resource)
ROUTES: list[tuple[str, Any]] = [
    ('/flavors', flavors.Flavors()),
    ('/flavors/detail', flavors.FlavorsDetail()),
    ('/flavors/{flavor_id}', flavors.Flavor()),
    ('/flavors/{flavor_id}/action', flavors.FlavorAction()),
    ('/flavors/{flavor_id}/os-extra_specs', flavors.ExtraSpecs()),
    ('/flavors/{flavor_id}/os-extra_specs/{key}', flavors.ExtraSpec()),
    ('/flavors/{flavor_id}/os-flavor-access', flavors.FlavorAccess()),
    ('/servers', servers.Servers()),
    ('/servers/detail', servers.ServersDetail()),
    ('/servers/{server_id}', servers.Server()),
    ('/servers/{server_id}/action', server_actions.ServerAction()),
    ('/servers/{server_id}/remote-consoles', remote_consoles.RemoteConsoles()),
    ('/servers/{server_id}/os-instance-actions', instance_actions.Actions()),
    ('/servers/{server_id}/os-instance-actions/{request_id}', instance_actions.Action()),
    ('/servers/{server_id}/diagnostics', server_diagnostics.Diagnostics()),
    ('/servers/{server_id}/ips', ips.Ips()),
    ('/servers/{server_id}/ips/{network_label}', ips.Ip()),
    ('/servers/{server_id}/os-interface', interfaces.Interfaces()),
    ('/servers/{server_id}/os-interface/{port_id}', interfaces.Interface()),
    ('/servers/{server_id}/os-volume_attachments', volume_attachments.VolumeAttachments()),
    ('/servers/{server_id}/os-volume_attachments/{volume_id}',
     volume_attachments.VolumeAttachment()),
    ('/servers/{server_id}/os-security-groups', security_groups.ServerSecurityGroups()),
    ('/servers/{server_id}/metadata', server_metadata.Metadata()),
    ('/servers/{server_id}/metadata/{key}', server_metadata.MetadataItem()),
    ('/servers/{server_id}/tags', server_tags.Tags()),
    ('/servers/{server_id}/tags/{tag}', server_tags.Tag()),
    ('/servers/{server_id}/os-server-password', server_password.ServerPassword()),
    ('/servers/{server_id}/migrations', server_migrations.ServerMigrations()),
    ('/servers/{server_id}/migrations/{migration_id}', server_migrations.ServerMigration()),
    ('/servers/{server_id}/migrations/{migration_id}/action',
     server_migrations.ServerMigrationAction()),
    ('/os-keypairs', keypairs.Keypairs()),
    ('/os-keypairs/{name}', keypairs.Keypair()),
    ('/os-services', services.Services()),
    ('/os-services/{service_id}', services.Service()),
    ('/os-hypervisors', hypervisors.Hypervisors()),
    ('/os-hypervisors/detail', hypervisors.HypervisorsDetail()),
    ('/os-hypervisors/statistics', hypervisors.Statistics()),
    ('/os-hypervisors/{hypervisor_id}', hypervisors.Hypervisor()),
    ('/os-hypervisors/{hypervisor_id}/uptime', hypervisors.Uptime()),
    ('/os-hypervisors/{hypervisor_id}/search', hypervisors.Search()),
    ('/os-hypervisors/{hypervisor_id}/servers', hypervisors.SearchServers()),
    ('/os-aggregates', aggregates.Aggregates()),
    ('/os-aggregates/{aggregate_id}', aggregates.Aggregate()),
    ('/os-aggregates/{aggregate_id}/action', aggregates.AggregateAction()),
    ('/os-server-groups', server_groups.ServerGroups()),
    ('/os-server-groups/{group_id}', server_groups.ServerGroup()),
    ('/os-availability-zone', availability_zones.Zones()),
    ('/os-availability-zone/detail', availability_zones.ZonesDetail()),
    ('/os-migrations', migrations.Migrations()),
    ('/limits', limits.Limits()),
    ('/os-quota-sets/{project_id}', quota_sets.QuotaSet()),
    ('/os-quota-sets/{project_id}/defaults', quota_sets.Defaults()),
    ('/os-quota-sets/{project_id}/detail', quota_sets.Detail()),
    ('/os-quota-class-sets/{class_name}', quota_class_sets.QuotaClassSet()),
    ('/os-simple-tenant-usage', simple_tenant_usage.Usages()),
    ('/os-simple-tenant-usage/{tenant_id}', simple_tenant_usage.Usage()),
    ('/os-instance_usage_audit_log', instance_usage_audit_log.AuditLogs()),
    ('/os-instance_usage_audit_log/{before}', instance_usage_audit_log.AuditLog()),
    ('/os-server-external-events', server_external_events.ServerExternalEvents()),
    ('/os-console-auth-tokens/{token}', remote_consoles.ConsoleAuthToken()),
    # Nova's deprecated proxies and the v2 extension list
    ('/images', images.Images()),
    ('/images/detail', images.ImagesDetail()),
    ('/images/{image_id}', images.Image()),
    ('/images/{image_id}/metadata', images.ImageMetadata()),
    ('/images/{image_id}/metadata/{key}', images.ImageMetadataItem()),
    ('/os-networks', networks.Networks()),
    ('/os-networks/add', networks.NetworksAdd()),
    ('/os-networks/{network_id}', networks.Network()),
    ('/os-networks/{network_id}/action', networks.NetworkAction()),
    ('/os-security-groups', security_groups.SecurityGroupsProxy()),
    ('/os-security-groups/{security_group_id}', security_groups.SecurityGroupProxy()),
    ('/os-security-group-rules', security_groups.SecurityGroupRulesProxy()),
    ('/os-security-group-rules/{security_group_rule_id}',
     security_groups.SecurityGroupRuleProxy()),
    ('/os-floating-ips', floating_ips.FloatingIps()),
    ('/os-floating-ips/{floating_ip_id}', floating_ips.FloatingIp()),
    ('/os-volumes', volumes_proxy.Volumes()),
    ('/os-volumes/detail', volumes_proxy.VolumesDetail()),
    ('/os-volumes/{volume_id}', volumes_proxy.Volume()),
    ('/os-snapshots', volumes_proxy.Snapshots()),
    ('/os-snapshots/detail', volumes_proxy.SnapshotsDetail()),
    ('/os-snapshots/{snapshot_id}', volumes_proxy.Snapshot()),
    ('/os-hosts', hosts.Hosts()),
    ('/os-hosts/{host}', hosts.Host()),
    ('/os-hosts/{host}/reboot', hosts.Reboot()),
    ('/os-hosts/{host}/shutdown', hosts.Shutdown()),
    ('/os-hosts/{host}/startup', hosts.Startup()),
    ('/extensions', extensions.Extensions()),
    ('/extensions/{alias}', extensions.Extension()),
]

# First path segments that are collections, not a project id.
COLLECTIONS = frozenset(path.split('/')[1] for path, _ in ROUTES)


def make_falcon_app() -> falcon.App:
    app = falcon.App(middleware=[
        middleware.RequestIdMiddleware(),
        middleware.MicroversionMiddleware(),
        auth.middleware_for(CONF.api.auth_strategy),
        auth.ProjectPathMiddleware(COLLECTIONS),
        middleware.BlankIdMiddleware(),
    ])
    app.req_options.keep_blank_qs_values = True
    app.req_options.strip_url_path_trailing_slash = True
    # ASCII-only JSON, as Nova's jsonutils writes it: a string no UTF-8 encoder
    # takes (a lone surrogate in a row stored before the API refused them)
    # still renders, escaped, instead of failing the whole response.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=functools.partial(json.dumps, ensure_ascii=True))
    app.add_route('/', versions.Root())
    app.add_route(V, versions.V21())
    app.add_route(versions.V2, versions.V20())
    for path, resource in ROUTES:
        app.add_route(V + path, resource)
    errors.register(app)
    if CONF.api.auth_strategy == 'noauth2':
        identity.register(app)
    return app


def make_app() -> Any:
    """The WSGI application for minova-api."""
    app: Any = make_falcon_app()
    if CONF.api.auth_strategy == 'keystone':
        app = auth.wrap_keystone(app, CONF, auth.PUBLIC_PATHS)
    return access_log.AccessLog(app, 'minova.api.access', microversion.HEADER)
