"""The metadata a guest reads about itself: one builder (base.py) for the
config drive and the metadata service (wsgi.py, minova-api-metadata)."""
