"""claimgraph: opinion journalism published as linked data."""

__version__ = "0.1.0"
