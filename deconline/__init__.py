"""deconline: a deconfliction line for shared airspace."""

__version__ = "0.1.0"
