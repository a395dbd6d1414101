"""Batch runs on Dask distributed: a network cut into partitions (cities) with a halo,
or a folder of region folders, run as tasks and merged into whole-network figures."""
