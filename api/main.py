"""The ASGI app as servers import it (``uvicorn api.main:app``), settings from the environment."""

import gc

from api.app import create_app

app = create_app()

# Everything imported and built so far lives as long as the process: move it out of the cyclic
# garbage collector's sight. A full collection walked these ~80,000 objects in ~60 ms on a 2-core
# machine, a stall of every request in flight, and collect's steady allocation triggers one now
# and then; after the freeze it walks only what requests left behind.
gc.freeze()

# The young generation is collected after a net 10,000 new container objects rather than
# Python's default (700 on 3.11 and 3.12, 2,000 since 3.13). Requests in flight hold objects
# across many collects: at 700 the young collections kept catching them, promoting them and so
# feeding collections of the older generations. Measured on Python 3.11 over 16,000 concurrent
# collects, garbage collection took 7 us per collect on Redis and 9 to 16 us on the memory store
# at 700, and 1.4 and 2 to 3 us at 10,000; the uncollected garbage it allows is a few megabytes.
gc.set_threshold(10_000, 10, 10)
