"""mini-Nova: a small, fast reimplementation of the OpenStack Nova compute service."""
