"""HTTP routes, one module per concern. Routes are thin: they check who calls, then call plain code."""
