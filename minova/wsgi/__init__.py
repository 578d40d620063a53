"""HTTP plumbing the three APIs (compute, placement, image) share: the WSGI
server, Keystone's middleware, microversion parsing, compiled JSON-schema
validators, the request-body decoder and the route tables' resources."""
