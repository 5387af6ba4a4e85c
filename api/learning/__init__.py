"""The service side of learning: the learner loop that turns resolved decisions into model versions, and
the cache each worker scores with. The pure learning step stays in ``scoring``."""
