"""The application layer: the ``dynsys`` command and its jobs.

- :mod:`~dynsys.cli.command`: the argument parser, the dispatch to the jobs
  and the exit statuses (:func:`main`, the ``dynsys`` console script and
  ``python -m dynsys``);
- one module per job, with everything that job does: :mod:`~dynsys.cli.analyze`
  (``dynsys analyze``), :mod:`~dynsys.cli.flipflop` (``dynsys flipflop``),
  :mod:`~dynsys.cli.models` (``dynsys models``);
- what the jobs share: :mod:`~dynsys.cli.inputs` (checks of the command line,
  network files), :mod:`~dynsys.cli.outputs` (rows of points, graph files,
  figures, data files), :mod:`~dynsys.cli.report` (progress lines, CSV, the
  HTML page).

A new job is a module with ``HELP``, ``DESCRIPTION``, ``add_arguments(parser)``
and ``run(args) -> int``, and one entry in :data:`dynsys.cli.command.JOBS`.
The library never imports this package.
"""
from .command import main

__all__ = ["main"]
