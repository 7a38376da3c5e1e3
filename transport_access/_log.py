"""One logging helper for the package: library code logs, the CLI decides where it goes."""

from __future__ import annotations

import logging

PACKAGE_LOGGER = "transport_access"


def get_logger(name: str) -> logging.Logger:
    """Return the logger for a module of the package.

    Parameters
    ----------
    name : str
        Usually ``__name__`` of the calling module.

    Returns
    -------
    logging.Logger
    """
    if not name.startswith(PACKAGE_LOGGER):
        name = f"{PACKAGE_LOGGER}.{name}"
    return logging.getLogger(name)


def configure_logging(verbosity: int = 0) -> None:
    """Send the package's log records to the terminal through rich.

    Parameters
    ----------
    verbosity : int
        0 for INFO, 1 or more for DEBUG, -1 for WARNING only.
    """
    from rich.logging import RichHandler

    level = logging.INFO if verbosity == 0 else logging.DEBUG if verbosity > 0 else logging.WARNING
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(level)
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(show_path=False, rich_tracebacks=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
        logger.addHandler(handler)
    logger.propagate = False
