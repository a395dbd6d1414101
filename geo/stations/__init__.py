"""Station lists from city unions.

Column mapping, GCJ-02/BD-09, validation, diff, versioned store, accounts.
"""
