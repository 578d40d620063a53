"""The Block Storage (Cinder) client: see minova/volume/cinder.py."""
