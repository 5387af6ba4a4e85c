"""HTTP routes: each translates HTTP to a domain call and back, in a few lines."""
