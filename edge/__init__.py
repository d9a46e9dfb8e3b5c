"""Everything that runs on the gateway: protocols, scheduler, configuration, pipeline, publishing, CLI."""

__version__ = "0.1.0"
