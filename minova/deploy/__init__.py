"""minova-deploy: a devstack-like, single-machine, multi-cell deployment.

layout.py says what runs where (databases, vhosts, services, config files),
backends.py creates and drops databases and RabbitMQ vhosts, procs.py starts
and stops the service processes, cli.py is the console script.
"""
