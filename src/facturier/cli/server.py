"""Run gunicorn in-process (the WSGI server of `facturier serve`)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _App(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from facturier.wsgi import application

        return application


def run_gunicorn(*, host: str, port: int, workers: int) -> None:
    _App(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "accesslog": "-",
            "graceful_timeout": 10,
        }
    ).run()
