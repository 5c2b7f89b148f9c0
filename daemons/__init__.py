"""The TOROS Manager's daemons, in three rooms.

``frame``
    What every daemon is made of: the XML-RPC server and its guard
    (``rpc``, ``security``), the durable journal of orders (``journal``),
    the worker and ``front_desk`` (``service``), work-order checks
    (``workorders``), the status API (``status``), logs, systemd
    notifications and the process entry points (``cli``).
``services``
    The daemons themselves, each a `~torosdrivers.daemons.frame.service.Service`:
    ``telescope``, ``dome``, ``preprocessor``, ``scheduler``, and
    ``devices`` (the device server that owns the hardware).
``tools``
    What an operator uses: the ``toros`` command (``client``, ``views``),
    the page (``web``, ``overview``, ``webpage/``), the demo and ``install``
    (systemd units, launch daemons).

Observatory logic that a script needs without a daemon (the safety
supervisor, dome slaving) lives in the library, `torosdrivers.observatory`.
"""
