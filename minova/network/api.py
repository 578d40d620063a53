"""Nova's network API on Neutron: what the compute API checks before a boot, what
a compute host asks of Neutron for a server (ports made or taken, bound to it,
released), and the server's network info built from its ports.

Requested networks travel in the request spec as 'none', 'auto', None (nothing
said: before 2.37) or a list of RequestedNetwork dicts.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypedDict

from minova import exception
from minova.network import model
from minova.network import neutron as neutron_client

if TYPE_CHECKING:
    from minova.context import RequestContext
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)

DEFAULT_SECGROUP = 'default'
Requested = list['RequestedNetwork'] | str | None


class RequestedNetwork(TypedDict, total=False):
    network_id: str | None
    port_id: str | None
    address: str | None
    tag: str | None


def client() -> Any:
    return neutron_client.get_client()


def _is_admin(ctx: RequestContext | None) -> bool:
    return bool(getattr(ctx, 'is_admin', False))


# -- which networks a project may use ------------------------------------------

def available_networks(ctx: RequestContext, project_id: str,
                       net_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The project's own networks and the shared ones (those of net_ids only,
    in that order, when given), as Nova's _get_available_networks."""
    neutron = client()
    if net_ids:
        found = {n['id']: n for n in neutron.list_networks(id=sorted(set(net_ids)))}
        usable = {i: n for i, n in found.items()
                  if _is_admin(ctx) or n.get('shared') or n.get('router:external')
                  or (n.get('project_id') or n.get('tenant_id')) == project_id}
        return [usable[i] for i in dict.fromkeys(net_ids) if i in usable]
    nets = neutron.list_networks(project_id=project_id, shared=False)
    nets += neutron.list_networks(shared=True)
    return nets


def _check_external(ctx: RequestContext, nets: list[dict[str, Any]]) -> None:
    """Only an admin may plug a server into an external network that is not shared
    (Nova's network:attach_external_network)."""
    if _is_admin(ctx):
        return
    for net in nets:
        if net.get('router:external') and not net.get('shared'):
            raise exception.ExternalNetworkAttachForbidden(network_uuid=net['id'])


def can_auto_allocate(project_id: str) -> bool:
    """Whether Neutron could make the project's auto-allocated topology (dry run)."""
    return bool(client().validate_auto_allocated_topology(project_id))


def auto_allocate(project_id: str) -> dict[str, Any]:
    """The project's get-me-a-network network (made by Neutron now if need be)."""
    neutron = client()
    try:
        net_id = neutron.get_auto_allocated_topology(project_id)
        return dict(neutron.show_network(net_id))
    except (neutron_client.NeutronError, exception.NetworkNotFound, KeyError):
        raise exception.UnableToAutoAllocateNetwork(project_id=project_id) from None


# -- at the API: is the request possible? ---------------------------------------

def validate_networks(ctx: RequestContext, requested: Requested, num_instances: int
                      ) -> None:
    """Nova's validate_networks/_ports_needed_per_instance: raises what the API
    answers (see minova/api/server_boot.py for the codes)."""
    if requested == 'none':
        return
    project_id = ctx.project_id or ''
    if requested is None or requested == 'auto' or not requested:
        nets = available_networks(ctx, project_id)
        if len(nets) > 1:
            raise exception.NetworkAmbiguous(
                'Multiple possible networks found, use a Network ID to be more specific.')
        if not nets and requested == 'auto' and not can_auto_allocate(project_id):
            raise exception.UnableToAutoAllocateNetwork(project_id=project_id)
        return
    assert isinstance(requested, list)
    neutron = client()
    net_ids: list[str] = []
    for req in requested:
        if req.get('port_id'):
            port = neutron.show_port(req['port_id'])
            if port.get('device_id'):
                raise exception.PortInUse(port_id=req['port_id'])
            if not _is_admin(ctx) and (port.get('project_id') or port.get('tenant_id')) \
                    != project_id:
                raise exception.PortNotUsable(port_id=req['port_id'], instance='')
            if port.get('ip_allocation') not in ('deferred', 'none') \
                    and not port.get('fixed_ips'):
                raise exception.PortRequiresFixedIP(port_id=req['port_id'])
            if num_instances > 1:
                raise exception.Invalid(
                    'Unable to launch multiple instances with a single configured '
                    'port ID. Please launch your instance one by one with different '
                    'ports.')
            continue
        net_id = req.get('network_id') or ''
        net_ids.append(net_id)
        if req.get('address'):
            if num_instances > 1:
                raise exception.InvalidFixedIpAndMaxCountRequest(
                    reason='max_count cannot be greater than 1 if an fixed_ip is '
                           'specified.')
            taken = neutron.list_ports(network_id=net_id,
                                       fixed_ips=f'ip_address={req["address"]}')
            if taken:
                raise exception.FixedIpAlreadyInUse(address=req['address'],
                                                    instance_uuid=taken[0].get('device_id'))
    if net_ids:
        nets = available_networks(ctx, project_id, net_ids)
        for net in nets:
            if not net.get('subnets'):
                raise exception.NetworkRequiresSubnet(network_uuid=net['id'])
        lost = [i for i in dict.fromkeys(net_ids) if i not in {n['id'] for n in nets}]
        if lost:
            raise exception.NetworkNotFound(network_id=', '.join(lost))
        _check_external(ctx, nets)


# -- security groups ---------------------------------------------------------------

def security_group_ids(project_id: str, names: list[str]) -> list[str]:
    """Names or ids of the project's security groups as ids (Nova's
    _process_security_groups); ['default'] alone: [] (Neutron applies it)."""
    names = list(dict.fromkeys(n for n in names if n))
    if not names or names == [DEFAULT_SECGROUP]:
        return []
    groups = client().list_security_groups(project_id=project_id)
    by_id = {g['id'] for g in groups}
    by_name: dict[str, list[str]] = {}
    for g in groups:
        by_name.setdefault(g['name'], []).append(g['id'])
    ids = []
    for name in names:
        if name in by_id:
            ids.append(name)
        elif name in by_name:
            if len(by_name[name]) > 1:
                raise exception.NoUniqueMatch(
                    f"Multiple security groups found matching '{name}'. Use an ID to be "
                    "more specific.")
            ids.append(by_name[name][0])
        else:
            raise exception.SecurityGroupNotFound(security_group_id=name)
    return list(dict.fromkeys(ids))


# -- on the compute host -------------------------------------------------------

def _device_owner(instance: Instance) -> str:
    from minova.conf import CONF
    return f"compute:{instance.get('availability_zone') or CONF.default_availability_zone}"


def _binding(instance: Instance, host: str) -> dict[str, Any]:
    return {'device_id': instance['uuid'], 'device_owner': _device_owner(instance),
            'binding:host_id': host}


def _ensure_bound(port: dict[str, Any]) -> None:
    if port.get('binding:vif_type') == model.BINDING_FAILED:
        raise exception.PortBindingFailed(port_id=port['id'])


def allocate_for_instance(ctx: RequestContext, instance: Instance, requested: Requested,
                          host: str, security_groups: list[str] | None = None
                          ) -> list[model.VIF]:
    """Ports for the server on `host`, as Nova's allocate_for_instance: one made per
    requested network (device_id, device_owner compute:<az>, binding:host_id, the
    request's security groups, its fixed IP), requested ports taken over the same
    way (kept when the server goes: preserve_on_delete). A port Neutron could not
    bind raises PortBindingFailed. On any failure what was done is undone."""
    if requested == 'none':
        return []
    project_id = instance['project_id']
    neutron = client()
    sg_ids = security_group_ids(project_id, security_groups or [])
    plan: list[RequestedNetwork]
    if requested is None or requested == 'auto' or not requested:
        nets = available_networks(ctx, project_id)
        if len(nets) > 1:
            raise exception.NetworkAmbiguous(
                'Multiple possible networks found, use a Network ID to be more specific.')
        if not nets and requested == 'auto':
            nets = [auto_allocate(project_id)]
        plan = [{'network_id': n['id']} for n in nets]
    else:
        assert isinstance(requested, list)
        plan = [dict(r) for r in requested]   # type: ignore[misc]
    created: list[str] = []
    taken: list[str] = []
    preserve: set[str] = set()
    tags: dict[str, str] = {}
    ordered: list[str] = []          # the ports in the request's order
    try:
        for req in plan:
            if req.get('port_id'):
                port_id = req['port_id'] or ''
                port = neutron.show_port(port_id)
                if port.get('device_id') and port['device_id'] != instance['uuid']:
                    raise exception.PortInUse(port_id=port_id)
                port = neutron.update_port(port_id, _binding(instance, host))
                taken.append(port_id)
                preserve.add(port_id)
            else:
                body: dict[str, Any] = {'network_id': req.get('network_id'),
                                        'project_id': project_id,
                                        'admin_state_up': True, **_binding(instance, host)}
                if req.get('address'):
                    body['fixed_ips'] = [{'ip_address': req['address']}]
                if sg_ids:
                    body['security_groups'] = sg_ids
                port = neutron.create_port(body)
                created.append(port['id'])
            ordered.append(port['id'])
            if req.get('tag'):
                tags[port['id']] = req['tag'] or ''
            _ensure_bound(port)
        mine = set(ordered)
        vifs = [v for v in build_network_info(instance, order=ordered,
                                              preserve=preserve) if v['id'] in mine]
        for vif in vifs:
            if vif['id'] in tags:
                vif['tag'] = tags[vif['id']]
        return vifs
    except Exception:
        _release(neutron, instance['uuid'], created, taken)
        raise


def _unbind_body() -> dict[str, Any]:
    # (binding:profile is left alone: only Neutron's service role may write it,
    # and mini-Nova never sets one.)
    return {'device_id': '', 'device_owner': '', 'binding:host_id': None}


def _release(neutron: Any, uuid: str, created: list[str], kept: list[str],
             strict: bool = False) -> None:
    """Delete the ports made for the server, unbind the user's; each failure is
    logged, and with `strict` the first is raised once all were tried."""
    failed: list[Exception] = []
    for port_id in created:
        try:
            neutron.delete_port(port_id)
        except Exception as e:
            LOG.exception('Could not delete port %s of %s', port_id, uuid)
            failed.append(e)
    for port_id in kept:
        try:
            neutron.update_port(port_id, _unbind_body())
        except exception.PortNotFound:
            pass
        except Exception as e:
            LOG.exception('Could not unbind port %s of %s', port_id, uuid)
            failed.append(e)
    if strict and failed:
        raise failed[0]


def deallocate_for_instance(ctx: RequestContext | None, instance: Instance,
                            preserve: set[str] | None = None) -> None:
    """Nova's deallocate_for_instance: the server's ports (those Neutron lists with
    its device_id) deleted, except the user's (preserve_on_delete in its network
    info, or in `preserve`), which are unbound and kept."""
    neutron = client()
    uuid = instance['uuid']
    preserve = set(preserve or ()) | {v['id'] for v in instance.get('network_info') or []
                                      if v.get('preserve_on_delete')}
    ports = [p['id'] for p in neutron.list_ports(device_id=uuid)]
    _release(neutron, uuid, [p for p in ports if p not in preserve],
             [p for p in ports if p in preserve], strict=True)


def bind_ports_to_host(instance: Instance, host: str) -> list[model.VIF]:
    """The server's ports bound to `host` (a resize or migration's destination,
    or its source again on revert), as Nova's migrate_instance_finish; its VIFs
    as they are now. PortBindingFailed when Neutron cannot bind one there."""
    neutron = client()
    ports = neutron.list_ports(device_id=instance['uuid'])
    bound = []
    for port in ports:
        if port.get('binding:host_id') != host:
            port = neutron.update_port(port['id'], {'binding:host_id': host})
        _ensure_bound(port)
        bound.append(port)
    return build_network_info(instance, ports=bound)


def deallocate_port(instance: Instance, port_id: str) -> None:
    """One interface detached: deleted if made for the server, else unbound."""
    preserve = any(v['id'] == port_id and v.get('preserve_on_delete')
                   for v in instance.get('network_info') or [])
    _release(client(), instance['uuid'], [] if preserve else [port_id],
             [port_id] if preserve else [])


def build_network_info(instance: Instance, order: list[str] | None = None,
                       preserve: set[str] | None = None,
                       ports: list[dict[str, Any]] | None = None) -> list[model.VIF]:
    """The server's VIFs from Neutron now: its ports (device_id), in the order of
    its cached network info (then `order`, then Neutron's), with their networks,
    subnets and floating IPs. preserve_on_delete comes from the cache or `preserve`."""
    from minova.conf import CONF
    neutron = client()
    uuid = instance['uuid']
    if ports is None:
        ports = neutron.list_ports(device_id=uuid)
    cached = [v['id'] for v in instance.get('network_info') or []]
    preserve = set(preserve or ()) | {v['id'] for v in instance.get('network_info') or []
                                      if v.get('preserve_on_delete')}
    rank = {pid: i for i, pid in enumerate(dict.fromkeys(cached + (order or [])))}
    ports = sorted(ports, key=lambda p: rank.get(p['id'], len(rank)))
    if not ports:
        return []
    net_ids = sorted({p['network_id'] for p in ports})
    networks = {n['id']: n for n in neutron.list_networks(id=net_ids)}
    subnet_ids = sorted({f['subnet_id'] for p in ports for f in p.get('fixed_ips') or []})
    subnets = {s['id']: s for s in neutron.list_subnets(id=subnet_ids)} if subnet_ids else {}
    floating: dict[str, dict[str, list[str]]] = {}
    for fip in neutron.list_floatingips(port_id=[p['id'] for p in ports]):
        floating.setdefault(fip['port_id'], {}).setdefault(
            fip.get('fixed_ip_address') or '', []).append(fip['floating_ip_address'])
    return [model.vif_model(p, networks.get(p['network_id'], {'id': p['network_id']}),
                            subnets, floating.get(p['id'], {}), p['id'] in preserve,
                            CONF.neutron.ovs_bridge)
            for p in ports]


def instance_security_groups(uuids: list[str]) -> dict[str, list[dict[str, str]]]:
    """{server uuid: [{'name': group name}]} from the groups on its ports (Nova's
    get_instances_security_groups_bindings); a server without ports has none."""
    if not uuids:
        return {}
    neutron = client()
    ports = neutron.list_ports(device_id=uuids)
    sg_ids = sorted({g for p in ports for g in p.get('security_groups') or []})
    names = {g['id']: g['name'] for g in neutron.list_security_groups(id=sg_ids)} \
        if sg_ids else {}
    out: dict[str, list[dict[str, str]]] = {}
    for port in ports:
        groups = out.setdefault(port['device_id'], [])
        for g in port.get('security_groups') or []:
            entry = {'name': names.get(g, g)}
            if entry not in groups:
                groups.append(entry)
    return out
