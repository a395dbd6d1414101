"""Walk networks.

Raw arrays, the pedestrian filter, loaders (PBF, XML, GraphML, online), the prepared model.
"""
