"""More than one process: nodes, the registry of which node holds which room, and the
processes of one host (``serve --processes N``)."""
