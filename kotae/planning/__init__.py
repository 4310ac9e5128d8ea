"""Choosing and sizing: the model catalog, license checks, GPU sizing, cost of ownership."""
