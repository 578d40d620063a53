"""Release version of mini-Nova."""
VERSION = '0.1.0'
