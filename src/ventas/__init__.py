"""Ventas Digitales: the shared core of every function and of the API (a Lambda layer in AWS)."""

from ventas import coldstart

# First, before any heavy import: in a Lambda runtime the collector stays off until the first
# invocation is done (ventas.coldstart; bench/coldstart.py measures what it saves).
coldstart.pause()

from pydantic import BaseModel  # noqa: E402

# Cold starts (bench/coldstart.py): every model builds its validator on first use instead of at
# import, so a function pays only for the models its own path validates (measured: ~0.15 s CPU
# less per cold start). Behaviour is unchanged; set before any model of the package is defined.
BaseModel.model_config["defer_build"] = True
