"""The operator's tools: the ``toros`` command, the observatory page, the demo, and the installer."""
