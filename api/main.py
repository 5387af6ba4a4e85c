"""The ASGI app as servers import it (``uvicorn api.main:app``), settings from the environment."""

import gc

from api.app import create_app

app = create_app()

# Everything imported and built so far lives as long as the process: move it out of the cyclic
# garbage collector's sight. A full collection walked these ~80,000 objects in ~60 ms on a 2-core
# machine, a stall of every request in flight, and collect's steady allocation triggers one now
# and then; after the freeze it walks only what requests left behind.
gc.freeze()

# A collect allocates a few thousand objects and frees nearly all of them by reference counting
# before its answer goes out. At the default threshold (700) the young generation was collected
# every few requests, caught requests in flight, promoted their objects and so fed collections of
# the older generations: 7 us of garbage collection per collect on a 2-core machine. At 10,000 it
# is 1.4 us; the pending garbage it allows is a few megabytes.
gc.set_threshold(10_000, 10, 10)
