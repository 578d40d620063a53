"""[key_manager]: where the keys of encrypted volumes come from (as nova.conf).

Nova reads these through castellan: `backend` (castellan's, default
`barbican`) and Nova's own `fixed_key`. mini-Nova has no Barbican client: the
fixed-key manager (`nova.keymgr.conf_key_mgr.ConfKeyManager`, also spelled
`minova.keymgr.ConfKeyManager`) is the one backend, and any
other makes the attach of an encrypted volume fail with a key manager error
(nothing else needs a key manager).
"""
from oslo_config import cfg

opts = [
    cfg.StrOpt('backend', default='barbican',
               help='The key manager: nova.keymgr.conf_key_mgr.ConfKeyManager (the '
                    'fixed key below, the same one as Cinder\'s) is the only backend '
                    'mini-Nova supports; castellan\'s default, barbican, is not.'),
    cfg.StrOpt('fixed_key', secret=True,
               help='The fixed key returned by the fixed-key manager, in hex (the same '
                    'value as Cinder\'s [key_manager] fixed_key).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='key_manager')
