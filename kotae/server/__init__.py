"""The HTTP service: ``create_app`` (:mod:`kotae.server.app`), run by ``kotae serve``."""
