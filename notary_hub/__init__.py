"""Notary Hub: the composition of the components into one service."""

__version__ = "0.1.0"
