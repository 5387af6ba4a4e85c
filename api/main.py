"""The ASGI app as servers import it (``uvicorn api.main:app``), settings from the environment."""

from api.app import create_app, settle_for_serving

app = create_app()
settle_for_serving()
