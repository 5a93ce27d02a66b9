"""OneID: one stable person id across every source system.

`identity.normalize` turns the many ways a phone, e-mail, resident ID, name or address is written into
canonical keys, so records of the same person can be compared at all; matching and clustering build on it.
"""
