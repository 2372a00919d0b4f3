"""trainrisk: measure and guard against implicit training-time safety risks in code RL."""

__version__ = "0.1.0"
