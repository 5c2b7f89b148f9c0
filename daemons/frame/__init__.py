"""The service frame every daemon is built on: XML-RPC behind the guard, the journal, the worker, the status API."""
