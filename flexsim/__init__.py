"""flexsim: an energy flexibility market simulation settled by smart contracts on Energy Web chains."""

__version__ = "0.1.0"
