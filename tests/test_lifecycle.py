"""A console script stops on SIGTERM whichever of its threads the kernel hands the signal to."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import signal, sys, threading, time
    from torosdrivers.lifecycle import catch_stop, wait_for_stop

    catch_stop()

    def busy():  # a worker thread running Python code, as a daemon's worker and pollers do
        while True:
            sum(range(1000))

    def self_signal():  # SIGTERM delivered to this thread, not to the main one
        time.sleep(0.3)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        time.sleep(60)

    threading.Thread(target=busy, daemon=True).start()
    if sys.argv[1] == "thread":
        threading.Thread(target=self_signal, daemon=True).start()
    print("waiting", flush=True)
    wait_for_stop()
    print("stopped", flush=True)
""")


@pytest.mark.parametrize("delivery", ["thread", "kill"])
def test_sigterm_stops_the_wait_whichever_thread_receives_it(delivery):
    # Before the fix, a SIGTERM taken by a worker thread left the main thread blocked on its Event for good
    child = subprocess.Popen([sys.executable, "-c", CHILD, delivery], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "waiting"
        if delivery == "kill":
            child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0
        assert child.stdout.read().strip() == "stopped"
    finally:
        child.kill()
        child.wait()
