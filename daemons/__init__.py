"""XML-RPC work-order services for the TOROS Manager."""
