"""Backroom: the order desk for independent retail stores."""

__version__ = "0.1.0"
