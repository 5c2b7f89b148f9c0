"""What every serial backend shares: its link, and opening it safely."""

from __future__ import annotations

from .link import SerialLink

__all__ = ["SerialDeviceMixin"]


class SerialDeviceMixin:
    """Connection handling shared by the serial backends (the twin of the Alpaca one).

    A backend calls `_init_serial` from its constructor and does its
    handshake in `_on_connect`; a failed handshake closes the port again, so a
    device is never left half open and reported connected.
    """

    _link: SerialLink

    def _init_serial(self, protocol: str, port: str, *, baudrate: int, timeout: float, retries: int) -> str:
        name = f"{protocol} on {port}"
        self._link = SerialLink(port, name=name, baudrate=baudrate, timeout=timeout, retries=retries)
        return name

    def _connect(self) -> None:
        self._link.open()
        try:
            self._on_connect()
        except BaseException:
            self._link.close()
            raise

    def _on_connect(self) -> None:
        """The protocol's handshake, once the port is open (backends override)."""

    def _disconnect(self) -> None:
        self._link.close()
