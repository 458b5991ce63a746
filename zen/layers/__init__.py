"""zen's layers, one module per kind; ``zen.nn`` gathers them with ``Model``."""
