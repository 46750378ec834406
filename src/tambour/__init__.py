"""Tambour: compliant SMS/MMS marketing for France."""

__version__ = "0.1.0"
