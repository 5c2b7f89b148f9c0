"""The daemons: telescope, dome, preprocessor, scheduler (each a ``Service``), and the device server."""
