"""Models: training on point-in-time training sets, a registry of versions with metrics and lineage."""
