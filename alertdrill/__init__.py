"""alertdrill: prove that documented alerts fire, are delivered and resolve."""

__version__ = "0.1.0"
