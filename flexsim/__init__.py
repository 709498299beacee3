"""flexsim's console command (`flexsim ...`): the top of the stack. The version lives in `base`."""

from base import __version__

__all__ = ["__version__"]
