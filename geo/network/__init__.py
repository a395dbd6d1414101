"""Walk networks.

Raw arrays, the pedestrian filter, loaders (PBF, XML, GraphML streamed, online), the
validation every loader applies (:mod:`geo.network.validate`), the prepared model.
"""
